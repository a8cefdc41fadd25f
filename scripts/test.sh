#!/usr/bin/env bash
# The project's test command (README): set up what is missing, then run the whole suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/bootstrap.sh >/dev/null
exec .venv/bin/python -m pytest -q "$@"
