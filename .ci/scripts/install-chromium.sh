#!/usr/bin/env bash
# Debian's Chromium for the editor's browser test (test/e2e/editor.browser.ts), which drives it
# with playwright-core: no browser is downloaded. Idempotent; must run as root.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo '[install-chromium] ERROR: /usr/bin/chromium is missing after apt-get install' >&2; exit 1; }
/usr/bin/chromium --version 2>/dev/null | head -n 1
