#!/usr/bin/env bash
# Install what the test suite needs on top of scripts/bootstrap.sh (called by scripts/test.sh).
# Every step is idempotent and quiet when its part is already in place:
# - the dev and browser-test extras at the versions in requirements/constraints.txt;
# - the pinned Node tools in tools/ (TypeScript compiler, json-schema-to-typescript, ajv);
# - checkov in its own venv (.tools/checkov: its pins conflict with the project's);
# - the real Backstage backend (backstage/) and frontend (backstage/frontend/), Debian's
#   Chromium and an emoji font for the browser test;
# - the real vLLM (CPU build) and LiteLLM proxy, each in its own venv under .tools/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

.venv/bin/python -m pip --disable-pip-version-check install --quiet \
  -c requirements/constraints.txt -e ".[dev,browser-test]"

if [ ! -x tools/node_modules/.bin/tsc ] || ! cmp -s tools/package-lock.json tools/node_modules/.package-lock.json.installed; then
  (cd tools && npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.installed)
fi
bash scripts/install-checkov.sh >/dev/null
bash scripts/install-backstage.sh
bash scripts/install-browser-test.sh
bash scripts/install-real-serving.sh
