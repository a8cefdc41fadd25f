#!/usr/bin/env bash
# Install what the test suite needs on top of scripts/bootstrap.sh (called by scripts/test.sh).
# Every step is idempotent and quiet when its part is already in place:
# - the dev and browser-test extras at the versions in requirements/constraints.txt;
# - checkov in its own venv (.tools/checkov: its pins conflict with the project's);
# - the real Backstage backend (backstage/) and frontend (backstage/frontend/), Debian's
#   Chromium and an emoji font for the browser test;
# - the real vLLM (CPU build) and LiteLLM proxy, each in its own venv under .tools/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

.venv/bin/python -m pip --disable-pip-version-check install --quiet \
  -c requirements/constraints.txt -e ".[dev,browser-test]"

bash scripts/install-checkov.sh >/dev/null
bash scripts/install-backstage.sh
bash scripts/install-browser-test.sh
bash scripts/install-real-serving.sh
