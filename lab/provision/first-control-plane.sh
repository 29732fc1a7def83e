#!/usr/bin/env bash
# cp1: `kubestrap init` pinned to the private NIC, then the join files for the others in the synced
# folder (join.env, join-worker.sh, join-control-plane.sh) and an admin kubeconfig for the host.
# Again on an initialized node: no init; the token is checked and, when it expired (or is about to),
# a new one is minted (with 3 control planes the certificates are uploaded again under a new key).
# Variables: lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$LAB_STATE_DIR"
rootfs="$(rootfs_flag)"
ha=0
[ "$(echo "$LAB_CONTROL_PLANE_IPS" | wc -w)" -gt 1 ] && ha=1
# shellcheck disable=SC2206 # rootfs is one word or none
rootfs_args=($rootfs)

runtime_args=(--runtime "$LAB_CP_RUNTIME")

# kubeadm's InitConfiguration + ClusterConfiguration for cp1 ($token, $cert_key set by the caller)
init_config() {
  cat <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "$token"
    ttl: "$LAB_TOKEN_TTL"
localAPIEndpoint:
  advertiseAddress: "$LAB_NODE_IP"
  bindPort: 6443
nodeRegistration:
  name: "$LAB_NODE_NAME"
EOF
  if [ "$LAB_CP_RUNTIME" = cri ]; then echo "  criSocket: \"$LAB_CRI_SOCKET\""; fi
  if [ -n "$cert_key" ]; then echo "certificateKey: \"$cert_key\""; fi
  cat <<EOF
timeouts:
  controlPlaneComponentHealthCheck: "$LAB_TIMEOUT"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: "$LAB_KUBERNETES_VERSION"
controlPlaneEndpoint: "$LAB_ENDPOINT"
networking:
  podSubnet: "$LAB_POD_NETWORK"
EOF
}

write_join_files() {
  local token="$1" hash="$2" cert_key="$3" expires="$4"
  # join.env: what the other nodes' scripts read; written last and atomically
  cat >"$LAB_STATE_DIR/join-worker.sh.tmp" <<EOF
#!/bin/sh
# Written by cp1's provisioning; the token expires $expires (vagrant provision cp1 mints a new one).
exec /vagrant/dist/kubestrap join $LAB_ENDPOINT --token $token --discovery-token-ca-cert-hash $hash "\$@"
EOF
  mv -f "$LAB_STATE_DIR/join-worker.sh.tmp" "$LAB_STATE_DIR/join-worker.sh"
  if [ -n "$cert_key" ]; then
    cat >"$LAB_STATE_DIR/join-control-plane.sh.tmp" <<EOF
#!/bin/sh
# Written by cp1's provisioning; the certificate key is good for 2 hours after the upload.
exec /vagrant/dist/kubestrap join $LAB_ENDPOINT --token $token --discovery-token-ca-cert-hash $hash --control-plane --certificate-key $cert_key "\$@"
EOF
    mv -f "$LAB_STATE_DIR/join-control-plane.sh.tmp" "$LAB_STATE_DIR/join-control-plane.sh"
  fi
  chmod 0755 "$LAB_STATE_DIR"/join-*.sh
  cat >"$JOIN_ENV.tmp" <<EOF
KUBESTRAP_JOIN_ENDPOINT=$LAB_ENDPOINT
KUBESTRAP_JOIN_TOKEN=$token
KUBESTRAP_JOIN_CA_HASH=$hash
KUBESTRAP_JOIN_CERT_KEY=$cert_key
KUBESTRAP_JOIN_TOKEN_EXPIRES=$expires
EOF
  chmod 0600 "$JOIN_ENV.tmp"
  mv -f "$JOIN_ENV.tmp" "$JOIN_ENV"
}

# The admin kubeconfig for the host: the same credentials, server = this node's private address.
write_host_kubeconfig() {
  sed -E "s@^( *server: ).*@\1https://$LAB_NODE_IP:6443@" "$ADMIN_CONF" >"$LAB_STATE_DIR/admin.conf.tmp"
  chmod 0600 "$LAB_STATE_DIR/admin.conf.tmp"
  mv -f "$LAB_STATE_DIR/admin.conf.tmp" "$LAB_STATE_DIR/admin.conf"
}

expiry_of() { # the token's EXPIRES column in `token list`, or nothing when it is gone
  ks token list "${rootfs_args[@]}" 2>/dev/null | awk -v id="${1%%.*}" '$1 ~ "^"id"\\." { print $3 }'
}

# valid for at least another LAB_TOKEN_MIN_LEFT seconds (default 600)?
token_usable() {
  local expires
  expires="$(expiry_of "$1")"
  [ -n "$expires" ] || return 1
  [ "$expires" = "<never>" ] && return 0
  [ "$(date -d "$expires" +%s)" -gt $(($(date +%s) + ${LAB_TOKEN_MIN_LEFT:-600})) ]
}

if [ ! -s "$ADMIN_CONF" ]; then
  if [ "$LAB_CP_RUNTIME" = process ]; then
    [ -x "$LAB_OFFLINE_DIR/bin/kube-apiserver" ] || die "the process runtime needs the control-plane binaries in LAB_OFFLINE_DIR/bin"
    ks config images import --from "$LAB_OFFLINE_DIR/bin" --kubernetes-version "$LAB_KUBERNETES_VERSION" "${rootfs_args[@]}"
  fi
  token="$(ks token generate)"
  cert_key=""
  upload_args=()
  if [ "$ha" = 1 ]; then
    cert_key="$(ks certs certificate-key)"
    upload_args=(--upload-certs)
  fi
  # a config file rather than flags: the health-check timeout (LAB_TIMEOUT) has no flag
  init_config | write_file /etc/kubestrap-lab/init.yaml 0600
  say "kubestrap init (advertise $LAB_NODE_IP, endpoint $LAB_ENDPOINT, runtime $LAB_CP_RUNTIME)"
  out="$LAB_STATE_DIR/init.log"
  ks init --config "$LAB_ROOT/etc/kubestrap-lab/init.yaml" "${rootfs_args[@]}" "${runtime_args[@]}" "${upload_args[@]}" 2>&1 | tee "$out"
  [ "${PIPESTATUS[0]}" = 0 ] || die "kubestrap init failed (output in $out)"
  hash="$(grep -o 'sha256:[0-9a-f]\{64\}' "$out" | head -1)"
  [ -n "$hash" ] || die "no CA hash in kubestrap init's output ($out)"
  write_join_files "$token" "$hash" "$cert_key" "$(expiry_of "$token")"
  write_host_kubeconfig
  say "initialized; join files and admin.conf in $LAB_STATE_DIR"
  exit 0
fi

# --- already initialized: a no-op, unless the join token is (nearly) expired ----------------------
[ -s "$LAB_STATE_DIR/admin.conf" ] || write_host_kubeconfig
old_token=""
if [ -s "$JOIN_ENV" ]; then
  # shellcheck source=/dev/null
  . "$JOIN_ENV"
  old_token="${KUBESTRAP_JOIN_TOKEN:-}"
fi
if [ -n "$old_token" ] && token_usable "$old_token"; then
  say "already initialized; the join token is good until $(expiry_of "$old_token"): nothing to do"
  exit 0
fi
say "already initialized; the join token expired: minting a new one"
line="$(ks token create --ttl "$LAB_TOKEN_TTL" --print-join-command "${rootfs_args[@]}")"
token="$(echo "$line" | grep -o -- '--token [^ ]*' | cut -d' ' -f2)"
hash="$(echo "$line" | grep -o 'sha256:[0-9a-f]\{64\}')"
[ -n "$token" ] && [ -n "$hash" ] || die "unexpected output of token create: $line"
cert_key=""
if [ "$ha" = 1 ]; then
  # the kubeadm-certs Secret lives 2 hours: upload again under a new key for later control planes
  cert_key="$(ks certs certificate-key)"
  ks init phase upload-certs --upload-certs --certificate-key "$cert_key" "${rootfs_args[@]}" >/dev/null
fi
write_join_files "$token" "$hash" "$cert_key" "$(expiry_of "$token")"
say "new join token written to $LAB_STATE_DIR"
