#!/usr/bin/env bash
# Every Kubernetes node: swap off, kernel modules and sysctls, containerd + runc (Debian packages)
# configured for the kubelet, the lab's CNI, the kubelet and kubectl (upstream packages, or the
# offline directory's binaries), the offline images. Safe to run again: it converges, it does not redo.
# Variables: lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$LAB_NODE_NAME" = lb ] && exit 0 # the load balancer runs only kubestrap lb

# --- packages (Debian's containerd 1.6 and runc; the CNI plugins for the lab's bridge) -------------
if [ "$LAB_INSTALL_PACKAGES" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  want=(containerd runc containernetworking-plugins iptables conntrack)
  missing=()
  for p in "${want[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  # the kubelet and kubectl from upstream's packages, unless the offline directory has them
  if [ ! -x "$LAB_OFFLINE_DIR/bin/kubelet" ] && ! command -v kubelet >/dev/null; then
    minor="$(echo "$LAB_KUBERNETES_VERSION" | sed -E 's/^v?([0-9]+\.[0-9]+).*/v\1/')"
    say "installing kubelet and kubectl $minor from pkgs.k8s.io"
    apt-get install -y -q --no-install-recommends curl gpg ca-certificates
    mkdir -p /etc/apt/keyrings
    curl -fsSL "https://pkgs.k8s.io/core:/stable:/$minor/deb/Release.key" | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
    echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/$minor/deb/ /" >/etc/apt/sources.list.d/kubernetes.list
    apt-get update -q
    apt-get install -y -q kubelet kubectl
    apt-mark hold kubelet kubectl
  fi
fi

# --- the kubelet and kubectl from the offline directory --------------------------------------------
if [ -n "$LAB_OFFLINE_DIR" ]; then
  mkdir -p "$BIN_DIR"
  for b in kubelet kubectl; do
    [ -x "$LAB_OFFLINE_DIR/bin/$b" ] || continue
    if ! cmp -s "$LAB_OFFLINE_DIR/bin/$b" "$BIN_DIR/$b"; then
      say "installing $b from $LAB_OFFLINE_DIR/bin"
      install -m 0755 "$LAB_OFFLINE_DIR/bin/$b" "$BIN_DIR/$b.lab-tmp" && mv -f "$BIN_DIR/$b.lab-tmp" "$BIN_DIR/$b"
    fi
  done
fi

# --- kernel: swap, modules, sysctls (files always; the live machine only with LAB_HOST_SETUP=1) -----
write_file /etc/modules-load.d/kubestrap-lab.conf <<'EOF'
overlay
br_netfilter
EOF
write_file /etc/sysctl.d/90-kubestrap-lab.conf <<'EOF'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
EOF
if [ "$LAB_HOST_SETUP" = 1 ]; then
  swapoff -a
  sed -i -E 's@^([^#].*[[:space:]]swap[[:space:]].*)$@# \1 # off for the kubelet (kubestrap lab)@' /etc/fstab
  modprobe overlay
  modprobe br_netfilter
  sysctl -q -p /etc/sysctl.d/90-kubestrap-lab.conf
fi

# --- containerd: systemd cgroups (systemd is PID 1 in a VM), the version's pause image, Debian's CNI dir
if [ "$LAB_HOST_SETUP" = 1 ]; then
  pause="$(ks config images list --kubernetes-version "$LAB_KUBERNETES_VERSION" | grep /pause:)"
  mkdir -p /etc/containerd
  containerd config default |
    sed -E -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
      -e "s@sandbox_image = .*@sandbox_image = \"$pause\"@" \
      -e 's@bin_dir = "/opt/cni/bin"@bin_dir = "/usr/lib/cni"@' >/etc/containerd/config.toml.lab-tmp
  if ! cmp -s /etc/containerd/config.toml.lab-tmp /etc/containerd/config.toml; then
    mv -f /etc/containerd/config.toml.lab-tmp /etc/containerd/config.toml
    say "containerd: SystemdCgroup, sandbox image $pause, CNI plugins in /usr/lib/cni"
    systemctl restart containerd
  else
    rm -f /etc/containerd/config.toml.lab-tmp
  fi
  systemctl enable --now containerd >/dev/null 2>&1 || true
fi

# --- images from the offline directory (pause, coredns, kube-proxy, ... as OCI tarballs) ----------
if [ -n "$LAB_OFFLINE_DIR" ] && [ -d "$LAB_OFFLINE_DIR/images" ] && [ -n "$LAB_CRI_SOCKET" ]; then
  address="${LAB_CRI_SOCKET#unix://}"
  have="$(ctr --address "$address" -n k8s.io images ls -q 2>/dev/null || true)"
  for tarball in "$LAB_OFFLINE_DIR"/images/*.tar; do
    [ -e "$tarball" ] || continue
    # coredns_v1.14.6.oci.tar → coredns:v1.14.6: imported already?
    name="$(basename "$tarball" .tar)"
    name="${name%.oci}"
    # the control-plane images serve only a CRI control plane; the process runtime runs binaries
    case "${name%%_*}" in etcd | kube-apiserver | kube-controller-manager | kube-scheduler) [ "$LAB_CP_RUNTIME" = process ] && continue ;; esac
    if ! echo "$have" | grep -q "/${name%%_*}:${name#*_}$"; then
      say "importing $(basename "$tarball") into containerd"
      ctr --address "$address" -n k8s.io images import "$tarball" >/dev/null
    fi
  done
fi

# --- the lab's CNI: one bridge per node, pod ranges routed over the private network ----------------
if [ "$LAB_CNI" = bridge ]; then
  write_file /etc/cni/net.d/10-kubestrap-lab.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "kubestrap-lab",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$(pod_cidr_of "$LAB_NODE_IP")" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  if [ "$LAB_HOST_SETUP" = 1 ]; then
    for ip in $LAB_NODE_IPS; do
      [ "$ip" = "$LAB_NODE_IP" ] || ip route replace "$(pod_cidr_of "$ip")" via "$ip"
    done
  fi
fi
say "common: done"
