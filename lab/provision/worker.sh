#!/usr/bin/env bash
# A worker: `kubestrap join` with cp1's join.env from the synced folder, the kubelet pinned to the
# private NIC (node-ip). Joined already (kubelet.conf there): nothing to do. A re-created machine
# deletes the Node of its name first, so `vagrant destroy worker1 && vagrant up worker1` rejoins.
# Variables: lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -s "$KUBELET_CONF" ]; then
  say "already joined ($KUBELET_CONF): nothing to do"
  exit 0
fi
kubelet="$(kubelet_path)"
[ -n "$kubelet" ] || die "no kubelet: set LAB_OFFLINE_DIR (bin/kubelet) or LAB_INSTALL_PACKAGES=1"
wait_for_join_env
delete_stale_node
config="$LAB_ROOT/etc/kubestrap-lab/join.yaml"
join_config | write_file /etc/kubestrap-lab/join.yaml 0600
say "kubestrap join $KUBESTRAP_JOIN_ENDPOINT (node-ip $LAB_NODE_IP)"
# shellcheck disable=SC2046 # rootfs_flag is one word or none
ks join --config "$config" --kubelet-path "$kubelet" $(rootfs_flag)
say "joined"
