#!/usr/bin/env bash
# Install checkov (pinned in scripts/checkov-requirements.txt) into its own virtualenv at
# .tools/checkov: its dependency pins conflict with the project's venv. Idempotent: the venv is
# rebuilt only when the requirements file changed since the last install.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/checkov"
requirements="$root/scripts/checkov-requirements.txt"
stamp="$venv/.requirements"

if [ -x "$venv/bin/checkov" ] && cmp -s "$requirements" "$stamp" && [ "${FORCE:-0}" != 1 ]; then
  echo "checkov already installed: $("$venv/bin/checkov" --version)"
  exit 0
fi
python=${PYTHON:-python3}
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$requirements"
cp "$requirements" "$stamp"
echo "checkov installed: $("$venv/bin/checkov" --version)"
