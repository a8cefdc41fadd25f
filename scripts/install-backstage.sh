#!/usr/bin/env bash
# Install the pinned Backstage backend in backstage/ (package-lock.json) for the end-to-end
# tests and for reading Backstage's own JSON Schemas, then build and pack our scaffolder
# module (backstage/plugins/scaffolder-backend-module-inference) the way it is published:
# type declarations (tsc), `backstage-cli package build`, `npm pack`. The tarball lands in
# backstage/node_modules/.inference-scaffolder-pack/; the end-to-end tests install it into
# their backend. Idempotent: one stamp records the installed lock, another the packed
# sources, so a second run with nothing changed is a no-op.
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
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  export npm_config_nodedir="$node_dir"
  export npm_config_cache="${npm_config_cache:-$root/.cache/npm}"
  echo "installing the Backstage backend (npm ci; better-sqlite3 builds from source, ~3-4 min)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  # Fail here, not in a test, when the native module did not build.
  node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"
  printf '%s' "$wanted" > "$stamp"
  echo "Backstage backend installed in backstage/node_modules" >&2
fi

module=plugins/scaffolder-backend-module-inference
pack_dir=node_modules/.inference-scaffolder-pack
packed_stamp=$pack_dir/.inference-scaffolder-packed
sources=$(find tsconfig.json "$module/package.json" "$module/README.md" "$module/src" -type f | LC_ALL=C sort)
packed="$wanted $(cat $sources | sha256sum | cut -d' ' -f1)"
if [ ! -f "$packed_stamp" ] || [ "$(cat "$packed_stamp")" != "$packed" ]; then
  rm -rf "$pack_dir" dist-types "$module/dist"
  mkdir -p "$pack_dir"
  # CI=true: backstage-cli prints no interactive output.
  CI=true npx --no-install tsc -p tsconfig.json
  (cd "$module" && CI=true npx --no-install backstage-cli package build >/dev/null)
  (cd "$module" && CI=true npm pack --silent --pack-destination "$PWD/../../$pack_dir" >/dev/null)
  printf '%s' "$packed" > "$packed_stamp"
  echo "scaffolder module packed into backstage/$pack_dir" >&2
fi
