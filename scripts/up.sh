#!/usr/bin/env bash
# One command from a fresh clone to a running control plane on this machine, with no registry:
# build the pinned control-plane binaries from Go modules (cached in ~/.cache/kubestrap-test),
# install them as the process runtime's images, then `kubestrap init`. Extra arguments go to init,
# e.g. `npm run up -- --rootfs /tmp/node1 --apiserver-advertise-address 127.0.0.1`.
# With a reachable registry and containerd, plain `kubestrap init` pulls the images instead.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -e 'import("./dist/config/versions.js").then(v => console.log(v.DEFAULT_KUBERNETES_VERSION))')
bin="${KUBESTRAP_TEST_CACHE:-$HOME/.cache/kubestrap-test}/$version/bin"
bash test/support/build-binaries.sh "$bin"
rootfs=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --rootfs) rootfs=(--rootfs "${args[$((i + 1))]}") ;;
    --rootfs=*) rootfs=("${args[$i]}") ;;
  esac
done
node bin/kubestrap.js config images import --from "$bin" "${rootfs[@]}"
exec node bin/kubestrap.js init "$@"
