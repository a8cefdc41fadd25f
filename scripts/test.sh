#!/usr/bin/env bash
# The project's test command (README command 2): set up the main job and the test stack
# (each step skips what is already installed), then run the whole suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/bootstrap.sh
bash scripts/install-test-stack.sh
exec .venv/bin/python -m pytest -q "$@"
