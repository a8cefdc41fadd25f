#!/usr/bin/env bash
# What the browser test of the Backstage form needs beyond the Python test extras:
# Debian's Chromium (Playwright cannot download its own browser here), a colour emoji font
# (the review step shows booleans as emoji; without the font they are empty boxes), and the
# pinned Backstage frontend, bundled (scripts/install-backstage-frontend.sh).
# Idempotent and quick when everything is there. Installing packages needs root (CI is root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(chromium fonts-noto-color-emoji)
missing=()
for package in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: ${missing[*]}: not installed; run as root: apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "installing ${missing[*]} from Debian (~1.5 min for chromium)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
/usr/bin/chromium --version >/dev/null 2>&1 || { echo "error: /usr/bin/chromium does not start" >&2; exit 2; }

bash "$root/scripts/install-backstage-frontend.sh"
