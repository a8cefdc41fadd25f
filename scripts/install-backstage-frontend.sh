#!/usr/bin/env bash
# Install the pinned Backstage frontend in backstage/frontend/ (its package-lock.json: the same
# Backstage release as backstage/package-lock.json) and bundle the test app with esbuild into
# backstage/frontend/dist/, for tests/backstage/test_backstage_form.py.
# Idempotent: one stamp records the installed lock, another the bundled sources, so a second
# run with nothing changed is a no-op (well under a second).
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

built_stamp=dist/.inference-scaffolder-build
sources=$(find build.mjs public src plugins/*/src -type f | LC_ALL=C sort)
built="$installed $(cat $sources | sha256sum | cut -d' ' -f1)"
if [ ! -f "$built_stamp" ] || [ "$(cat "$built_stamp")" != "$built" ]; then
  rm -rf dist
  node build.mjs >&2
  printf '%s' "$built" > "$built_stamp"
fi
