#!/usr/bin/env bash
# Builds the pinned control-plane binaries (and etcd) from the wrapper Go modules beside this
# script into OUT_DIR. Static (CGO_ENABLED=0), stamped like upstream release builds, so
# `kube-apiserver --version` and /version report the real version. Binaries are built one after
# another: on a 2-core machine parallel links only fight over memory and CPU.
# Usage: build-binaries.sh OUT_DIR   (versions come from the go.mod files)
set -euo pipefail
out=${1:?usage: build-binaries.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
mkdir -p "$out"

# The version from the require line (single-line or inside a require block); an empty stamp would
# make every binary panic at init (component-base/metrics parses gitVersion), so fail loudly instead.
k8s_version=$(sed -n 's/^\(require\)\{0,1\}[[:space:]]*k8s.io\/kubernetes \(v[0-9][0-9.]*\)\([[:space:]].*\)\{0,1\}$/\2/p' "$here/k8s/go.mod" | head -n1)
if [ -z "$k8s_version" ]; then echo "[build] cannot read the k8s.io/kubernetes version from $here/k8s/go.mod" >&2; exit 1; fi
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

build kube-apiserver "$here/k8s" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
build kube-controller-manager "$here/k8s" k8s.io/kubernetes/cmd/kube-controller-manager "$ldflags"
build kube-scheduler "$here/k8s" k8s.io/kubernetes/cmd/kube-scheduler "$ldflags"
build kubectl "$here/k8s" k8s.io/kubernetes/cmd/kubectl "$ldflags"
etcd_sha=0000000
build etcd "$here/etcd" . "-s -w -X=go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_sha"
