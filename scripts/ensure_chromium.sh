#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the browser tests; installs it with apt when we are root.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser tests (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "error: the browser tests need Chromium: install Debian's 'chromium' package (apt-get install chromium)" >&2
exit 2
