#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: a virtualenv with the package and
# its dev tools, a real helm, and the pinned Node tools (TypeScript compiler).
# Idempotent: re-running only fills in what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,serve-test]"

bash scripts/install-helm.sh
# Make helm visible to anything run from the venv (tests, the CLI, the hooks).
for tool in helm kubectl; do
  if [ -x ".tools/bin/$tool" ]; then ln -sf "$root/.tools/bin/$tool" ".venv/bin/$tool"; fi
done

if [ ! -x tools/node_modules/.bin/tsc ]; then
  (cd tools && npm ci --silent --no-audit --no-fund)
fi
echo "bootstrap complete: $(.venv/bin/inference-scaffolder --version 2>/dev/null || echo 'package installed')"
