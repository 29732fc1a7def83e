#!/usr/bin/env bash
# Writes the wrapper Go modules the harness builds one Kubernetes version from:
#   test/support/k8s/v1.X/   k8s.io/kubernetes vX.Y.Z with its staging replaces (→ published v0.X.Y)
#   test/support/etcd/vA.B.C/ go.etcd.io/etcd/server/v3 at the version kubeadm pins for that minor
# Run it when a version is added to src/config/versions.ts; commit what it writes (go.sum included), so
# builds are reproducible and CI never resolves a module graph itself.
# Usage: new-version.sh vX.Y.Z ETCD_VERSION   e.g. new-version.sh v1.37.2 3.7.0
set -euo pipefail
k8s=${1:?usage: new-version.sh vX.Y.Z ETCD_VERSION}
etcd=${2:?usage: new-version.sh vX.Y.Z ETCD_VERSION}
here=$(cd "$(dirname "$0")/.." && pwd)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
minor=${k8s%.*}
staging=v0.${k8s#v1.}

upstream=$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$upstream" ] || { echo "cannot download k8s.io/kubernetes@$k8s" >&2; exit 1; }

dir="$here/k8s/$minor"
mkdir -p "$dir"
{
  echo "// Wrapper module: builds Kubernetes $k8s for the test suite (written by modules/new-version.sh)."
  echo "// The replace block mirrors k8s.io/kubernetes' own (staging modules → published $staging);"
  echo "// Go applies replace directives only from the main module, so they must be repeated here."
  echo "module kubestrap.test/k8s"
  echo
  sed -n 's/^go \(.*\)/go \1/p; s/^godebug \(.*\)/godebug \1/p' "$upstream"
  echo
  echo "require k8s.io/kubernetes $k8s"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$upstream" | sed -n "s#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 $staging#p"
  echo ")"
} >"$dir/go.mod"
cat >"$dir/tools.go" <<'GO'
//go:build tools

// Blank imports keep every component the harness builds in go.mod/go.sum under `go mod tidy`:
// a main package cannot be imported, so its app package stands in for it.
package tools

import (
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-proxy/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubeadm/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
)
GO
(cd "$dir" && go mod tidy)

edir="$here/etcd/v$etcd"
mkdir -p "$edir"
cat >"$edir/go.mod" <<GOMOD
// Wrapper module for etcd $etcd (written by modules/new-version.sh), separate from the Kubernetes
// one so that MVS does not merge etcd's requirements into the Kubernetes graph.
module kubestrap.test/etcd

go 1.24

require go.etcd.io/etcd/server/v3 v$etcd
GOMOD
cp "$here/modules/etcd-main.go.txt" "$edir/main.go"
(cd "$edir" && go mod tidy)
# etcdctl: its own module below the server's, so that its requirements do not move the server's graph
mkdir -p "$edir/etcdctl"
cat >"$edir/etcdctl/go.mod" <<GOMOD
// Wrapper module for etcdctl $etcd (written by modules/new-version.sh), its own module so that
// etcdctl's requirements do not move the etcd server's graph in ../go.mod.
module kubestrap.test/etcdctl

go 1.24

require go.etcd.io/etcd/etcdctl/v3 v$etcd

tool go.etcd.io/etcd/etcdctl/v3
GOMOD
(cd "$edir/etcdctl" && go mod tidy)
echo "wrote $dir and $edir"
