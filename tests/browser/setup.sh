#!/usr/bin/env bash
# Installs what tests/test_browser.py needs beyond the venv: Debian's Chromium and ReplayWeb.page.
# Idempotent, silent when everything is in place. It needs the network (Debian's apt
# repositories, the npm registry), so run it before the tests, not inside tests/isolated.sh.
#
#   tests/browser/setup.sh
#
# Chromium: installed with apt-get when /usr/bin/chromium (or $ARCHIVER_CHROMIUM) is missing;
#   that needs root (or password-less sudo). If it cannot be installed, this says so and the
#   browser tests skip.
# ReplayWeb.page: `npm ci` into tests/browser/node_modules, exactly as package-lock.json pins it,
#   with no install scripts run (only its prebuilt ui.js and sw.js are used).
# Python side (playwright, wacz): the project's test extras, installed by `make`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "tests/browser/setup.sh: $*" >&2; }

# -- Chromium from Debian ---------------------------------------------------------------------
chromium="${ARCHIVER_CHROMIUM:-/usr/bin/chromium}"
packages=()
[ -x "$chromium" ] || packages+=(chromium)
if command -v dpkg-query >/dev/null &&
  ! dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'ok installed'; then
  packages+=(fonts-dejavu-core)
fi
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    sudo=(none)
  fi
  if command -v apt-get >/dev/null && [ "${sudo[*]-}" != none ]; then
    say "installing ${packages[*]} with apt-get"
    "${sudo[@]}" apt-get update -qq >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    say "cannot install ${packages[*]} (needs apt-get and root);" \
      "the browser tests will skip if $chromium is missing"
  fi
fi

# -- ReplayWeb.page from npm -------------------------------------------------------------------
if ! command -v npm >/dev/null; then
  say "npm not found: install Node.js and npm (ReplayWeb.page comes from the npm registry)"
  exit 1
fi
stamp="$here/node_modules/.archiver-setup"
wanted="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$here/node_modules/replaywebpage/sw.js" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "installing ReplayWeb.page (npm ci)"
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$wanted" >"$stamp"
fi
