# shellcheck shell=bash
# Shared by the lab's provisioning scripts (sourced, never run). The Vagrantfile passes the lab's
# settings as LAB_* variables; the rest have defaults for a real VM and are overridden by the test
# bed (test/e2e/lab-provision.test.ts), which runs these same scripts in node namespaces:
#
#   from the Vagrantfile (lab.yaml):
#   LAB_NODE_NAME, LAB_NODE_IP    this node's name and private-network address (pinned everywhere)
#   LAB_ENDPOINT                  the API endpoint host:port (cp1, or the lb VM with 3 control planes)
#   LAB_CONTROL_PLANE_IPS         the control planes' addresses, space-separated (cp1 first)
#   LAB_NODE_IPS                  every Kubernetes node's address (for the pod routes)
#   LAB_KUBERNETES_VERSION, LAB_TOKEN_TTL, LAB_POD_NETWORK
#   LAB_INSTALL_PACKAGES=1        apt-get containerd, runc, CNI plugins (0: they are installed already,
#                                 as in lab:verify's box and in the test bed)
#   LAB_OFFLINE_DIR               bin/ and images/ to install from instead of pkgs.k8s.io/registry.k8s.io
#
#   defaults for a VM, overridden by the test bed:
#   LAB_ROOT=""                   prefix of every file the scripts write, and kubestrap's --rootfs
#                                 (the test bed: the node's rootfs, so the host's /etc is never touched)
#   LAB_HOST_SETUP=1              act on the running machine: swapoff, modprobe, live sysctls, pod
#                                 routes, containerd's config + restart (0 in the test bed: its nodes
#                                 share one kernel, and the harness runs each node's containerd)
#   LAB_CRI_SOCKET                the CRI endpoint (default unix:///run/containerd/containerd.sock);
#                                 set but empty: no container runtime on this node (the test bed's
#                                 process-runtime cp1), so no images are imported
#   LAB_CNI=bridge                the lab's CNI: a bridge per node on <pod_network a.b>.<last octet>.0/24,
#                                 routed over the private network ("none": something else provides one)
#   LAB_KUBELET_CONFIG            a KubeletConfiguration file joined to the node's JoinConfiguration
#                                 (the test bed's machine settings); empty on a VM
#   LAB_CP_RUNTIME                process | cri (default: process when LAB_OFFLINE_DIR has the binaries)
#   LAB_STATE_DIR=/vagrant/lab/.state   where cp1 leaves join.env, join-*.sh, admin.conf
#   LAB_KUBESTRAP=/vagrant/dist/kubestrap   the single executable (npm run build:sea)
#   LAB_WAIT_SECONDS=900          how long a joining node waits for cp1's join.env
#   LAB_TIMEOUT=4m0s              init's control-plane health check, join's discovery, TLS bootstrap
#                                 and kubelet waits (kubeadm's v1beta4 timeouts; lab:verify raises it
#                                 for software-emulated VMs)
set -euo pipefail

: "${LAB_NODE_NAME:?set by the Vagrantfile}" "${LAB_NODE_IP:?set by the Vagrantfile}"
LAB_ROOT="${LAB_ROOT:-}"
LAB_HOST_SETUP="${LAB_HOST_SETUP:-1}"
LAB_INSTALL_PACKAGES="${LAB_INSTALL_PACKAGES:-1}"
LAB_OFFLINE_DIR="${LAB_OFFLINE_DIR:-}"
LAB_CRI_SOCKET="${LAB_CRI_SOCKET-unix:///run/containerd/containerd.sock}"
LAB_CNI="${LAB_CNI:-bridge}"
LAB_KUBELET_CONFIG="${LAB_KUBELET_CONFIG:-}"
LAB_STATE_DIR="${LAB_STATE_DIR:-/vagrant/lab/.state}"
LAB_KUBESTRAP="${LAB_KUBESTRAP:-/vagrant/dist/kubestrap}"
LAB_KUBERNETES_VERSION="${LAB_KUBERNETES_VERSION:-v1.37.2}"
LAB_TOKEN_TTL="${LAB_TOKEN_TTL:-24h0m0s}"
LAB_POD_NETWORK="${LAB_POD_NETWORK:-10.244.0.0/16}"
LAB_ENDPOINT="${LAB_ENDPOINT:-${LAB_NODE_IP}:6443}"
LAB_CONTROL_PLANE_IPS="${LAB_CONTROL_PLANE_IPS:-${LAB_NODE_IP}}"
LAB_NODE_IPS="${LAB_NODE_IPS:-${LAB_NODE_IP}}"
LAB_WAIT_SECONDS="${LAB_WAIT_SECONDS:-900}"
LAB_TIMEOUT="${LAB_TIMEOUT:-4m0s}"
if [ -z "${LAB_CP_RUNTIME:-}" ]; then
  if [ -n "$LAB_OFFLINE_DIR" ] && [ -x "$LAB_OFFLINE_DIR/bin/kube-apiserver" ]; then LAB_CP_RUNTIME=process; else LAB_CP_RUNTIME=cri; fi
fi

JOIN_ENV="$LAB_STATE_DIR/join.env"
ADMIN_CONF="$LAB_ROOT/etc/kubernetes/admin.conf"
KUBELET_CONF="$LAB_ROOT/etc/kubernetes/kubelet.conf"
BIN_DIR="$LAB_ROOT/usr/local/bin"

say() { echo "[lab/$LAB_NODE_NAME] $*"; }
die() {
  echo "[lab/$LAB_NODE_NAME] error: $*" >&2
  exit 1
}

# kubestrap, with --rootfs when the scripts run under a prefix (the test bed)
ks() { "$LAB_KUBESTRAP" "$@"; }
rootfs_flag() { if [ -n "$LAB_ROOT" ]; then echo "--rootfs=$LAB_ROOT"; fi; }

[ -x "$LAB_KUBESTRAP" ] || die "$LAB_KUBESTRAP is missing: run \`npm run build:sea\` on the host first"

# The kubelet and kubectl this node runs: installed by common.sh (offline dir), else the packages'.
kubelet_path() {
  if [ -x "$BIN_DIR/kubelet" ]; then echo "$BIN_DIR/kubelet"; else command -v kubelet || true; fi
}
kubectl_path() {
  if [ -x "$BIN_DIR/kubectl" ]; then echo "$BIN_DIR/kubectl"; else command -v kubectl || true; fi
}

# An octet of this node's address picks its pod range: 10.244.0.0/16 and .21 → 10.244.21.0/24.
pod_cidr_of() {
  local ip="$1" base="${LAB_POD_NETWORK%%/*}"
  echo "$(echo "$base" | cut -d. -f1-2).${ip##*.}.0/24"
}

# Writes a file under LAB_ROOT atomically (stdin → file), mode $2 (default 0644).
write_file() {
  local target="$LAB_ROOT$1" mode="${2:-0644}"
  mkdir -p "$(dirname "$target")"
  cat >"$target.lab-tmp"
  chmod "$mode" "$target.lab-tmp"
  mv -f "$target.lab-tmp" "$target"
}

# join.env is written by cp1 only, atomically; the others wait for it.
wait_for_join_env() {
  local waited=0
  until [ -s "$JOIN_ENV" ]; do
    [ "$waited" -ge "$LAB_WAIT_SECONDS" ] && die "no $JOIN_ENV after ${LAB_WAIT_SECONDS}s: is cp1 up? (vagrant up cp1, or vagrant provision cp1)"
    [ "$waited" -eq 0 ] && say "waiting for cp1's join files in $LAB_STATE_DIR"
    sleep 5
    waited=$((waited + 5))
  done
  # shellcheck source=/dev/null
  . "$JOIN_ENV"
}

# The JoinConfiguration for this node (worker, or control plane with $1 = certificate key).
join_config() {
  local cert_key="${1:-}"
  cat <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "$KUBESTRAP_JOIN_ENDPOINT"
    token: "$KUBESTRAP_JOIN_TOKEN"
    caCertHashes: ["$KUBESTRAP_JOIN_CA_HASH"]
nodeRegistration:
  name: "$LAB_NODE_NAME"
  criSocket: "$LAB_CRI_SOCKET"
  kubeletExtraArgs:
    - name: node-ip
      value: "$LAB_NODE_IP"
timeouts:
  discovery: "$LAB_TIMEOUT"
  tlsBootstrap: "$LAB_TIMEOUT"
  kubeletHealthCheck: "$LAB_TIMEOUT"
  controlPlaneComponentHealthCheck: "$LAB_TIMEOUT"
EOF
  if [ -n "$cert_key" ]; then
    cat <<EOF
controlPlane:
  localAPIEndpoint:
    advertiseAddress: "$LAB_NODE_IP"
    bindPort: 6443
  certificateKey: "$cert_key"
EOF
  fi
  if [ -n "$LAB_KUBELET_CONFIG" ]; then
    echo '---'
    cat "$LAB_KUBELET_CONFIG"
  fi
}

# A re-created VM has the name of a Node the cluster still has (and may think Ready): delete it
# before joining, with the admin kubeconfig cp1 left in the synced folder.
delete_stale_node() {
  local kubectl
  kubectl="$(kubectl_path)"
  [ -n "$kubectl" ] && [ -s "$LAB_STATE_DIR/admin.conf" ] || return 0
  if "$kubectl" --kubeconfig "$LAB_STATE_DIR/admin.conf" get node "$LAB_NODE_NAME" >/dev/null 2>&1; then
    say "deleting the stale Node $LAB_NODE_NAME (this machine was re-created)"
    "$kubectl" --kubeconfig "$LAB_STATE_DIR/admin.conf" delete node "$LAB_NODE_NAME" --wait=true
  fi
}
