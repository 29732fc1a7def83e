#!/usr/bin/env bash
# Builds Kubernetes binaries (and etcd) of one version from its wrapper Go modules
# (test/support/k8s/v1.X, test/support/etcd/vA.B.C; see modules/new-version.sh) into OUT_DIR.
# Static (CGO_ENABLED=0), stamped like upstream release builds, so `kube-apiserver --version` and
# /version report the real version. Binaries are built one after another: on a 2-core machine
# parallel links only fight over memory and CPU. A binary already in OUT_DIR is kept.
# Usage: build-binaries.sh OUT_DIR K8S_MODULE_DIR ETCD_MODULE_DIR NAME...
#   NAME: kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kubeadm kube-proxy etcd etcdctl
set -euo pipefail
usage="usage: build-binaries.sh OUT_DIR K8S_MODULE_DIR ETCD_MODULE_DIR NAME..."
out=${1:?$usage}
k8s_dir=$(cd "${2:?$usage}" && pwd)
etcd_dir=$(cd "${3:?$usage}" && pwd)
shift 3
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
mkdir -p "$out"

# The version from the require line (single-line or inside a require block); an empty stamp would
# make every binary panic at init (component-base/metrics parses gitVersion), so fail loudly instead.
k8s_version=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*k8s.io\/kubernetes \(v[0-9][0-9.]*\)\([[:space:]].*\)\{0,1\}$/\2/p' "$k8s_dir/go.mod" | head -n1)
if [ -z "$k8s_version" ]; then echo "[build] cannot read the k8s.io/kubernetes version from $k8s_dir/go.mod" >&2; exit 1; fi
major=${k8s_version#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() { # name module-dir package
  local name=$1 dir=$2 pkg=$3 start=$SECONDS
  if [ -x "$out/$name" ]; then echo "[build] $name: cached"; return; fi
  echo "[build] $name: building $pkg ..."
  (cd "$dir" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$4" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "[build] $name: done in $((SECONDS - start))s"
}

etcd_sha=0000000
for name in "$@"; do
  case $name in
    etcd) build etcd "$etcd_dir" . "-s -w -X=go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_sha" ;;
    # its own wrapper module under the etcd one (etcdctl's requirements stay out of the server's graph)
    etcdctl) build etcdctl "$etcd_dir/etcdctl" go.etcd.io/etcd/etcdctl/v3 "-s -w -X=go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_sha" ;;
    kubectl) build kubectl "$k8s_dir" k8s.io/kubernetes/cmd/kubectl "$ldflags" ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kubeadm | kube-proxy)
      build "$name" "$k8s_dir" "k8s.io/kubernetes/cmd/$name" "$ldflags" ;;
    *) echo "build-binaries.sh: unknown binary $name" >&2; exit 2 ;;
  esac
done
