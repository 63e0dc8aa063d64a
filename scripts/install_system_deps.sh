#!/usr/bin/env bash
# Installs the Debian packages the browser tests need, only when they are missing:
#   chromium        -> /usr/bin/chromium, driven by Playwright (never `playwright install`: no browser downloads here)
#   fonts-noto-cjk  -> a CJK font, so Chinese renders in screenshots instead of tofu boxes (and the briefing's PDF)
#   poppler-utils   -> pdftotext, with which the briefing tests read a PDF's text back
# Non-interactive; runs apt-get directly as root, through sudo otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

need=()
if [ ! -x /usr/bin/chromium ]; then
    need+=(chromium)
fi
if ! command -v pdftotext >/dev/null 2>&1; then
    need+=(poppler-utils)   # pdftotext: the briefing tests read the PDF's text layer back
fi
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
    need+=(fonts-noto-cjk fontconfig)
fi

if [ ${#need[@]} -eq 0 ]; then
    echo "system deps: chromium and a CJK font are present"
    exit 0
fi

apt_install "system deps" "${need[@]}"
if command -v fc-cache >/dev/null 2>&1; then
    fc-cache -f >/dev/null 2>&1 || true
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "system deps: /usr/bin/chromium still missing after apt-get install" >&2
    exit 1
fi
