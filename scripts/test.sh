#!/usr/bin/env bash
# The project's test command.
#   bash scripts/test.sh [PYTEST_ARGS...]         README command 2, what CI runs: set up the
#       main job and the whole test stack (each step skips what is already installed), then
#       run every test (or what PYTEST_ARGS select).
#   bash scripts/test.sh --fast [PYTEST_ARGS...]  the core suite: installs only the package,
#       its test dependencies, helm and kubectl; deselects every test that needs more (the
#       markers in pyproject.toml say what each needs). Under a minute on two cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${1:-}" = "--fast" ]; then
  shift
  INFERENCE_SCAFFOLDER_SKIP_NODE_TOOLS=1 bash scripts/bootstrap.sh
  .venv/bin/python -m pip --disable-pip-version-check install --quiet \
    -c requirements/constraints.txt -e ".[dev]"
  exec .venv/bin/python -m pytest -q -n auto \
    -m "not (slow or node or backstage or real_serving or checkov or build)" "$@"
fi

bash scripts/bootstrap.sh
bash scripts/install-test-stack.sh
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest -q "$@"
fi
# Everything on every core, but the real servers and Backstage, which then run alone: vLLM,
# LiteLLM, the Backstage backend and Chromium each use every core themselves.
status=0
.venv/bin/python -m pytest -q -n auto --durations=15 -m "not (real_serving or backstage)" \
  || status=$?
.venv/bin/python -m pytest -q --durations=15 -m "real_serving or backstage" || status=$?
exit "$status"
