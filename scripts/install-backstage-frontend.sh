#!/usr/bin/env bash
# Install the pinned Backstage frontend in backstage/frontend/ (its package-lock.json: the same
# Backstage release as backstage/package-lock.json), build and pack our field module
# (plugins/scaffolder-frontend-module-inference) the way it is published, and bundle the test
# apps with esbuild into backstage/frontend/dist/, for tests/backstage/test_backstage_form.py.
# The module is built with the backend's tools (typescript and @backstage/cli in
# backstage/node_modules, from scripts/install-backstage.sh): type declarations (tsc),
# `backstage-cli package build`, `npm pack` (whose prepack rewrites the exports to dist/). The
# tarball lands in backstage/frontend/node_modules/.inference-scaffolder-pack/, unpacked next
# to it for the apps' bundle.
# Idempotent: stamps record the installed lock, the packed sources and the bundled sources,
# so a second run with nothing changed is a no-op (well under a second).
#
# --legacy-peer-deps: several Backstage frontend packages declare peer ranges (React 17/18,
# @types/react) that npm's strict peer resolution refuses to combine; the lock pins the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/backstage/frontend"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "error: $tool: not found (Node 20+ is required)" >&2; exit 2; }
done

installed_stamp=node_modules/.inference-scaffolder-install
installed="$(node --version) $(cat package-lock.json plugins/*/package.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$installed_stamp" ] || [ "$(cat "$installed_stamp")" != "$installed" ]; then
  export npm_config_cache="${npm_config_cache:-$root/.cache/npm}"
  echo "installing the Backstage frontend (npm ci, ~1 min, ~600 MB)" >&2
  npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
  printf '%s' "$installed" > "$installed_stamp"
  rm -f dist/.inference-scaffolder-build
fi

bash "$root/scripts/install-backstage.sh"
tools="$root/backstage/node_modules/.bin"
module=plugins/scaffolder-frontend-module-inference
module_name=$(node -p "require('./$module/package.json').name")
pack_dir=node_modules/.inference-scaffolder-pack
packed_stamp=$pack_dir/.inference-scaffolder-packed
module_sources=$(find tsconfig.json types "$module/package.json" "$module/src" -type f | LC_ALL=C sort)
packed="$installed $(cat "$root/backstage/package-lock.json" $module_sources | sha256sum | cut -d' ' -f1)"
if [ ! -f "$packed_stamp" ] || [ "$(cat "$packed_stamp")" != "$packed" ]; then
  rm -rf "$pack_dir" dist-types "$module/dist"
  mkdir -p "$pack_dir/node_modules/$module_name"
  # CI=true: backstage-cli prints no interactive output. PATH: npm pack's prepack and postpack
  # scripts run backstage-cli.
  CI=true "$tools/tsc" -p tsconfig.json
  (cd "$module" && CI=true "$tools/backstage-cli" package build >/dev/null)
  pack_to="$PWD/$pack_dir"
  (cd "$module" && PATH="$tools:$PATH" CI=true npm pack --silent --pack-destination "$pack_to" >/dev/null)
  tar -xzf "$pack_dir"/*.tgz -C "$pack_dir/node_modules/$module_name" --strip-components=1
  printf '%s' "$packed" > "$packed_stamp"
  rm -f dist/.inference-scaffolder-build
  echo "field module packed into backstage/frontend/$pack_dir" >&2
fi

built_stamp=dist/.inference-scaffolder-build
sources=$(find build.mjs public src -type f | LC_ALL=C sort)
built="$packed $(cat $sources | sha256sum | cut -d' ' -f1)"
if [ ! -f "$built_stamp" ] || [ "$(cat "$built_stamp")" != "$built" ]; then
  rm -rf dist
  node build.mjs >&2
  printf '%s' "$built" > "$built_stamp"
fi
