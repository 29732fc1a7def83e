#!/usr/bin/env bash
# cp2, cp3: `kubestrap join --control-plane` (kubeadm's JoinConfiguration.controlPlane with the
# certificate key cp1 uploaded the certificates under), advertising the private address. Joined
# already: nothing to do. The control-plane binaries come from the offline directory, as on cp1.
# Variables: lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -s "$ADMIN_CONF" ]; then
  say "already a control plane ($ADMIN_CONF): nothing to do"
  exit 0
fi
wait_for_join_env
[ -n "${KUBESTRAP_JOIN_CERT_KEY:-}" ] || die "$JOIN_ENV has no certificate key: was cp1 initialized with 3 control planes?"
if [ "$LAB_CP_RUNTIME" = process ]; then
  # shellcheck disable=SC2046
  ks config images import --from "$LAB_OFFLINE_DIR/bin" --kubernetes-version "$LAB_KUBERNETES_VERSION" $(rootfs_flag)
fi
delete_stale_node
config="$LAB_ROOT/etc/kubestrap-lab/join.yaml"
join_config "$KUBESTRAP_JOIN_CERT_KEY" | write_file /etc/kubestrap-lab/join.yaml 0600
say "kubestrap join --control-plane $KUBESTRAP_JOIN_ENDPOINT (advertise $LAB_NODE_IP)"
kubelet="$(kubelet_path)"
# shellcheck disable=SC2046
ks join --config "$config" --runtime "$LAB_CP_RUNTIME" ${kubelet:+--kubelet-path "$kubelet"} $(rootfs_flag)
say "joined as a control plane"
