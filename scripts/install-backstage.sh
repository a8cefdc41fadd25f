#!/usr/bin/env bash
# Install the pinned Backstage backend in backstage/ (package-lock.json) for the end-to-end
# tests and for reading Backstage's own JSON Schemas. Idempotent: a stamp records what was
# installed, so a second run with the same lock file and Node is a no-op.
#
# better-sqlite3 has no prebuilt binary offline: it compiles from source (gcc, make,
# python3) against the Node headers of the system Node (npm_config_nodedir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/backstage"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool: not found (Node 20+ is required)" >&2; exit 2; }
done
node_dir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
if [ ! -f "$node_dir/include/node/node.h" ]; then
  echo "error: npm_config_nodedir: no Node headers in $node_dir/include/node (set npm_config_nodedir)" >&2
  exit 2
fi

stamp=node_modules/.inference-scaffolder-install
wanted="$(node --version) $(cat package-lock.json plugins/*/package.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

export npm_config_nodedir="$node_dir"
export npm_config_cache="${npm_config_cache:-$root/.cache/npm}"
echo "installing the Backstage backend (npm ci; better-sqlite3 builds from source, ~2-3 min)" >&2
npm ci --no-audit --no-fund --loglevel=error
# Fail here, not in a test, when the native module did not build.
node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"
printf '%s' "$wanted" > "$stamp"
echo "Backstage backend installed in backstage/node_modules" >&2
