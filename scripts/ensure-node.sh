#!/usr/bin/env bash
# kubestrap needs Node.js >= 22.12 (developed and tested on Node 24 LTS). Many distribution images,
# Debian 12's among them, still ship Node 20, which reached end of life in April 2026: there this
# installs Node 24 from the npm registry's packaged binary (the `node` package) into /usr/local, which
# comes before /usr/bin on PATH, and says so in one line. A new enough Node is left alone.
set -euo pipefail
required_major=22 required_minor=12
have=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
major=${have%%.*} rest=${have#*.} minor=${rest%%.*}
if [ "$major" -gt "$required_major" ] || { [ "$major" -eq "$required_major" ] && [ "$minor" -ge "$required_minor" ]; }; then
  exit 0
fi
prefix=${KUBESTRAP_NODE_PREFIX:-/usr/local}
if [ ! -w "$prefix" ]; then
  echo "kubestrap needs Node.js >= $required_major.$required_minor (found $have): run this as root, or set KUBESTRAP_NODE_PREFIX to a writable prefix whose bin/ is on PATH" >&2
  exit 1
fi
echo "Node.js $have is older than $required_major.$required_minor: installing Node 24 LTS from the npm registry into $prefix (npm install -g node@24)"
npm install --global --prefix "$prefix" --no-fund --no-audit --loglevel=error node@24 >/dev/null
hash -r
now=$("$prefix/bin/node" -p 'process.versions.node')
if [ "$(command -v node)" != "$prefix/bin/node" ]; then
  echo "installed Node $now as $prefix/bin/node, but $(command -v node) comes first on PATH: put $prefix/bin before it" >&2
  exit 1
fi
