#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser tests (tests/browser), which drive
# /usr/bin/chromium through Playwright; no browser is ever downloaded by Playwright.
# As root with apt-get (CI, a fresh Debian machine) the package is installed; otherwise a
# message says how. Without it the browser tests fail under CI=true and are skipped
# elsewhere.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-browser: installing Debian's chromium for the browser tests" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "ensure-browser: apt-get could not install chromium" >&2
  fi
else
  echo "ensure-browser: /usr/bin/chromium is missing; install it with 'sudo apt-get install chromium'" \
       "(the browser tests are skipped without it, and fail under CI=true)" >&2
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-browser: /usr/bin/chromium is still missing" >&2
fi
exit 0
