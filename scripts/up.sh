#!/usr/bin/env bash
# One command from a fresh clone to a running control plane on this machine, with no registry:
# build the pinned control-plane binaries from Go modules (cached in ~/.cache/kubestrap-test),
# install them as the process runtime's images, then `kubestrap init`. Extra arguments go to init,
# e.g. `npm run up -- --rootfs /tmp/node1 --apiserver-advertise-address 127.0.0.1`.
# With a reachable registry and containerd, plain `kubestrap init` pulls the images instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# The harness builds and checks the binaries of the version KUBESTRAP_K8S_VERSION names (default:
# the table's default) and records where they are.
node --import tsx test/support/prepare.ts
read -r version bin < <(node --import tsx -e '
  import("./test/support/components.ts").then(({ components }) => {
    const c = components();
    console.log(c.kubernetesVersion, c.binDir);
  })')
rootfs=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --rootfs) rootfs=(--rootfs "${args[$((i + 1))]}") ;;
    --rootfs=*) rootfs=("${args[$i]}") ;;
  esac
done
# Without KUBESTRAP_K8S_VERSION, init's own default is the version just built (and a --config file
# may then name its version); with it, init gets the same version as a flag.
version_flag=()
[ -n "${KUBESTRAP_K8S_VERSION:-}" ] && version_flag=(--kubernetes-version "$version")
node bin/kubestrap.js config images import --from "$bin" --kubernetes-version "$version" "${rootfs[@]}"
exec node bin/kubestrap.js init "${version_flag[@]}" "$@"
