#!/usr/bin/env bash
# Installs headless Chromium for tests/spec_16_page_browser.rs (the status
# page of SPEC §16 in a real browser): Debian's `chromium` package.
#
#   scripts/chromium.sh
#
# Does nothing when chromium is already there. Installs only as root on a
# CI machine (CI=true): elsewhere it says what to run and exits 1, and the
# browser test reports itself SKIPPED with the reason (never passed).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium)"
    exit 0
fi
if [[ "$(id -u)" != 0 || "${CI:-}" != "true" ]]; then
    echo "chromium.sh: chromium is not installed; as root: apt-get install -y chromium" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: no apt-get here; install Chromium by hand (the test looks for" \
        "chromium in PATH, or \$SV_CHROMIUM)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium </dev/null; then
    # The package lists may be missing or stale on a fresh machine.
    apt-get update </dev/null
    apt-get install -y --no-install-recommends chromium </dev/null
fi
echo "chromium: $(command -v chromium)"
