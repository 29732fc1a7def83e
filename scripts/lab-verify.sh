#!/usr/bin/env bash
# `npm run lab:verify`: the Vagrant lab on real VMs (not in CI). Builds a small Debian box
# (debootstrap → ext4 image → qcow2 → a vagrant-libvirt box with its own kernel, cached in
# ~/.cache/kubestrap-lab), starts libvirtd itself (systemd need not be PID 1), brings up cp1 +
# worker1 with the libvirt provider on networks it creates isolated (no VM reaches beyond this
# host), checks from the host with the exported admin kubeconfig that both nodes are Ready and a pod
# runs on worker1, then `vagrant destroy -f`. Offline: the control-plane binaries, the kubelet and
# the images come from the test harness's cache (npm run prepare:components).
#
# /dev/kvm: before `vagrant up` the box's kernel is booted once under KVM for a few seconds; when it
# prints nothing (a PVM-style nested hypervisor that stock Debian kernels do not boot under), the
# domains run as libvirt type `qemu` (software emulation, much slower), and the script says so.
#
# `npm run lab:verify -- --box-only` stops once the box is built and added.
# Environment: LAB_VERIFY_CACHE (default ~/.cache/kubestrap-lab), LAB_VERIFY_KEEP=1 (no destroy at
# the end), LAB_VERIFY_DRIVER=kvm|qemu (skip the probe), LAB_VERIFY_CPUS (default 2 per VM: init's
# preflight wants 2 on a control plane), LAB_VERIFY_NETWORK (default 192.168.57).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
CACHE="${LAB_VERIFY_CACHE:-$HOME/.cache/kubestrap-lab}"
BOX_NAME=kubestrap/bookworm-lab
BOX_DIR="$CACHE/box"
BOX_FILE="$BOX_DIR/bookworm-lab.box"
START=$(date +%s)
log() { printf '[lab:verify %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() {
  log "FAILED: $*"
  exit 1
}
mkdir -p "$CACHE"

# --- host packages (no recommends: those would pull systemd-sysv and a desktop's worth) -----------
need=(vagrant vagrant-libvirt libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-config-network libvirt-clients
  qemu-system-x86 qemu-utils debootstrap dnsmasq-base e2fsprogs)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$CACHE/apt.log"
fi

# --- the executable and the offline directory -------------------------------------------------------
[ -x dist/kubestrap ] || npm run build:sea
node --import tsx test/support/prepare.ts >"$CACHE/prepare.log" 2>&1 || die "prepare:components failed ($CACHE/prepare.log)"
OFFLINE="$(node --import tsx -e 'import("./test/support/components.ts").then(({ components }) => console.log(components().cacheDir))')"
VERSION="$(node --import tsx -e 'import("./test/support/components.ts").then(({ components }) => console.log(components().kubernetesVersion))')"
log "offline directory $OFFLINE (Kubernetes $VERSION), dist/kubestrap $(du -m dist/kubestrap | cut -f1) MiB"

# --- the box ----------------------------------------------------------------------------------------
# Packages the lab would apt-get, baked in (the VMs reach no mirror); systemd-networkd for DHCP on
# vagrant's network and the private NIC vagrant configures; the kernel boots directly (no bootloader).
BOX_PACKAGES=linux-image-amd64,systemd-sysv,udev,dbus,openssh-server,sudo,kmod,iproute2,iputils-ping,ca-certificates,procps,containerd,runc,containernetworking-plugins,iptables,conntrack,ethtool,socat
build_box() {
  local root="$BOX_DIR/rootfs" t0
  t0=$(date +%s)
  rm -rf "$root" && mkdir -p "$root"
  log "debootstrap bookworm into $root"
  debootstrap --variant=minbase --include="$BOX_PACKAGES" bookworm "$root" http://deb.debian.org/debian >"$BOX_DIR/debootstrap.log" 2>&1 ||
    die "debootstrap failed ($BOX_DIR/debootstrap.log)"
  echo lab >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
  printf '/dev/vda / ext4 defaults,noatime 0 1\n' >"$root/etc/fstab"
  mkdir -p "$root/etc/systemd/network"
  printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/10-eth0.network"
  chroot "$root" systemctl enable systemd-networkd ssh containerd >/dev/null 2>&1
  chroot "$root" useradd -m -s /bin/bash vagrant
  echo 'vagrant ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/vagrant"
  chmod 0440 "$root/etc/sudoers.d/vagrant"
  install -d -m 0700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
  install -m 0600 -o 1000 -g 1000 "$(dpkg -L vagrant | grep '/keys/vagrant.pub$' | head -1)" "$root/home/vagrant/.ssh/authorized_keys"
  echo 'UseDNS no' >"$root/etc/ssh/sshd_config.d/vagrant.conf"
  chroot "$root" apt-get clean
  cp "$(ls "$root"/boot/vmlinuz-* | tail -1)" "$BOX_DIR/vmlinuz"
  cp "$(ls "$root"/boot/initrd.img-* | tail -1)" "$BOX_DIR/initrd.img"
  log "ext4 image from the tree (mkfs.ext4 -d: no loop device), then qcow2"
  rm -f "$BOX_DIR/disk.raw"
  truncate -s 8G "$BOX_DIR/disk.raw"
  mkfs.ext4 -q -F -L root -d "$root" "$BOX_DIR/disk.raw"
  qemu-img convert -f raw -O qcow2 "$BOX_DIR/disk.raw" "$BOX_DIR/box.img"
  rm -f "$BOX_DIR/disk.raw"
  printf '{"provider":"libvirt","format":"qcow2","virtual_size":8}\n' >"$BOX_DIR/metadata.json"
  # the box boots its own kernel: vagrant-libvirt's direct kernel boot, paths inside the box dir
  cat >"$BOX_DIR/Vagrantfile" <<'EOF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.expand_path("vmlinuz", __dir__)
    lv.initrd = File.expand_path("initrd.img", __dir__)
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 biosdevname=0 quiet"
    lv.disk_bus = "virtio"
  end
end
EOF
  tar -C "$BOX_DIR" -cf "$BOX_FILE.tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img && mv -f "$BOX_FILE.tmp" "$BOX_FILE"
  rm -rf "$root" "$BOX_DIR/box.img"
  log "box built in $(($(date +%s) - t0)) s: $BOX_FILE ($(du -m "$BOX_FILE" | cut -f1) MiB)"
}
[ -s "$BOX_FILE" ] || build_box
if ! vagrant box list 2>/dev/null | grep -q "^$BOX_NAME "; then
  vagrant box add --force --name "$BOX_NAME" "$BOX_FILE" >/dev/null
fi
log "box $BOX_NAME ready (cached: $BOX_FILE)"
[ "${1:-}" = --box-only ] && exit 0

# --- libvirtd, started here (systemd is not PID 1) ---------------------------------------------------
STARTED=()
# libvirt-daemon-system would make these (and pull in systemd): the daemons' state and log dirs
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/images /var/lib/libvirt/qemu /var/lib/libvirt/dnsmasq /var/cache/libvirt /run/libvirt /etc/libvirt
# and the qemu user its QEMU driver looks up at start (even when qemu.conf says root)
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -s /usr/sbin/nologin -d /var/lib/libvirt libvirt-qemu
# qemu runs as root: the 9p synced folders pass files through with their owners
if ! grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null; then
  printf '\n# kubestrap lab:verify: 9p passthrough needs qemu as root; no AppArmor here\nuser = "root"\ngroup = "root"\nswtpm_user = "root"\nswtpm_group = "root"\nsecurity_driver = "none"\n' >>/etc/libvirt/qemu.conf
fi
trap cleanup_daemons EXIT
for d in virtlogd libvirtd; do
  if [ -z "$(pgrep -x "$d" || true)" ]; then
    "$d" -d
    STARTED+=("$(pgrep -x -n "$d")")
    log "started $d (pid ${STARTED[-1]})"
  fi
done
for _ in $(seq 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break || sleep 0.2; done
virsh -c qemu:///system version >/dev/null || die "libvirtd does not answer"

cleanup_daemons() { for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done; }
cleanup() {
  local rc=$?
  if [ "${LAB_VERIFY_KEEP:-0}" != 1 ]; then
    log "vagrant destroy -f"
    (cd "$REPO" && lab_vagrant destroy -f >"$CACHE/destroy.log" 2>&1) || log "destroy failed ($CACHE/destroy.log)"
    for net in kubestrap-lab kubestrap-lab-mgmt; do
      virsh -c qemu:///system net-destroy "$net" >/dev/null 2>&1 || true
      virsh -c qemu:///system net-undefine "$net" >/dev/null 2>&1 || true
    done
    cleanup_daemons
  fi
  log "done in $(($(date +%s) - START)) s (exit $rc)"
}

# --- kvm or qemu: boot the box's kernel for a few seconds under KVM ---------------------------------
DRIVER="${LAB_VERIFY_DRIVER:-}"
if [ -z "$DRIVER" ]; then
  DRIVER=qemu
  tmpk="$(mktemp -d)"
  tar -C "$tmpk" -xf "$BOX_FILE" vmlinuz initrd.img
  if [ -c /dev/kvm ]; then
    timeout 25 qemu-system-x86_64 -enable-kvm -cpu host -m 512 -smp 1 -display none -no-reboot -nodefaults \
      -serial "file:$tmpk/serial.log" -kernel "$tmpk/vmlinuz" -initrd "$tmpk/initrd.img" \
      -append "console=ttyS0 panic=-1 earlyprintk=ttyS0" >/dev/null 2>&1 || true
    if grep -q 'Linux version' "$tmpk/serial.log" 2>/dev/null; then DRIVER=kvm; fi
  fi
  rm -rf "$tmpk"
  if [ "$DRIVER" = qemu ]; then
    log "NOTE: qemu -enable-kvm does not boot the box's stock Debian kernel here (no kernel output on the console: /dev/kvm is a PVM-style nested hypervisor); the domains run as libvirt type qemu (software emulation, TCG: slow)"
  else
    log "/dev/kvm boots the box's kernel: domains of type kvm"
  fi
fi

lab_vagrant() {
  VAGRANT_DOTFILE_PATH="$CACHE/vagrant-dot" VAGRANT_CHECKPOINT_DISABLE=1 \
    LAB_PROVIDER=libvirt LAB_CONTROL_PLANES=1 LAB_WORKERS=1 LAB_BOX="$BOX_NAME" \
    LAB_CPUS="${LAB_VERIFY_CPUS:-2}" LAB_MEMORY="${LAB_VERIFY_MEMORY:-2048}" LAB_NETWORK="${LAB_VERIFY_NETWORK:-192.168.57}" \
    LAB_KUBERNETES_VERSION="$VERSION" LAB_OFFLINE_DIR="$OFFLINE" LAB_INSTALL_PACKAGES=false \
    LAB_LIBVIRT_DRIVER="$DRIVER" LAB_TIMEOUT="$([ "$DRIVER" = qemu ] && echo 20m0s || echo 4m0s)" vagrant "$@"
}
trap cleanup EXIT
rm -rf "$REPO/lab/.state"

# --- up, check, destroy -----------------------------------------------------------------------------
t_up=$(date +%s)
log "vagrant up cp1 worker1 (libvirt, domain type $DRIVER); output in $CACHE/up.log"
lab_vagrant up --provider libvirt >"$CACHE/up.log" 2>&1 || {
  tail -40 "$CACHE/up.log"
  die "vagrant up failed ($CACHE/up.log)"
}
log "vagrant up took $(($(date +%s) - t_up)) s"
KUBECTL="$OFFLINE/bin/kubectl"
KCFG="$REPO/lab/.state/admin.conf"
[ -s "$KCFG" ] || die "cp1 left no $KCFG"
log "kubectl --kubeconfig lab/.state/admin.conf get nodes -o wide (server $(grep -o 'server: .*' "$KCFG"))"
ok=0
for _ in $(seq 120); do
  if [ "$("$KUBECTL" --kubeconfig "$KCFG" get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l)" = 2 ]; then ok=1 && break; fi
  sleep 5
done
"$KUBECTL" --kubeconfig "$KCFG" get nodes -o wide || true
[ "$ok" = 1 ] || die "2 Ready nodes not seen within 10 minutes"
pause="$(dist/kubestrap config images list --kubernetes-version "$VERSION" | grep /pause:)"
"$KUBECTL" --kubeconfig "$KCFG" apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata: { name: on-worker1, namespace: default }
spec:
  nodeName: worker1
  containers: [{ name: pause, image: "$pause", imagePullPolicy: Never }]
EOF
"$KUBECTL" --kubeconfig "$KCFG" wait --for=jsonpath='{.status.phase}'=Running pod/on-worker1 --timeout=600s
"$KUBECTL" --kubeconfig "$KCFG" get pods -o wide
log "OK: 2 nodes Ready and a pod running on worker1, $(($(date +%s) - t_up)) s after vagrant up started (domain type $DRIVER)"
