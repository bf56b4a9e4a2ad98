#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report browser test (tests/workflow/test_report.py).
# Idempotent: does nothing when a chromium binary is already on PATH or at /usr/bin/chromium.
# Needs root (or sudo) and apt; prints a note and exits 0 otherwise, so the test then skips.
set -euo pipefail

if [ -n "${MOLPROBE_CHROMIUM:-}" ] && [ -x "${MOLPROBE_CHROMIUM}" ]; then
    exit 0
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser "$(command -v chromium 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium.sh: no apt-get here; install Chromium yourself (or set MOLPROBE_CHROMIUM)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install_chromium.sh: not root and no password-less sudo; the browser test will be skipped" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "install_chromium.sh: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
