#!/usr/bin/env bash
# Set up what the commands need on a fresh machine (README command 1): a virtualenv with
# the package and its runtime dependencies at the versions in requirements/constraints.txt,
# the pinned helm + kubectl, and the pinned Node tools schema-pr drives (tools/: the
# TypeScript compiler and parser, json-schema-to-typescript, ajv). Nothing for the tests
# (scripts/test.sh adds those).
# Idempotent: re-running only fills in what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet -c requirements/constraints.txt -e .

bash scripts/install-helm.sh >/dev/null
# Make the pinned helm and kubectl the ones the CLI, the hooks and the tests find first.
for tool in helm kubectl; do
  ln -sf "$root/.tools/bin/$tool" ".venv/bin/$tool"
done
# The fast test tier (scripts/test.sh --fast) needs no Node tools and skips them.
if [ "${INFERENCE_SCAFFOLDER_SKIP_NODE_TOOLS:-0}" != 1 ] && { [ ! -x tools/node_modules/.bin/tsc ] ||
    ! cmp -s tools/package-lock.json tools/node_modules/.package-lock.json.installed; }; then
  (cd tools && npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.installed)
fi
# bubblewrap confines the programs that read repositories' content (read-only file system,
# no network); without it only the network is taken away (docs/security.md). Installing it
# needs root and apt; elsewhere install it with the system's package manager.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends bubblewrap >/dev/null; }) \
      || echo "warning: bubblewrap could not be installed: tools run without a read-only file system" >&2
  else
    echo "warning: bubblewrap (bwrap) is not installed: tools run without a read-only file system; install the bubblewrap package" >&2
  fi
fi
echo "bootstrap complete: $(.venv/bin/inference-scaffolder --version)" >&2
