#!/usr/bin/env bash
# Installs Debian's fonts-noto-cjk when no Simplified Chinese font is present: the 调度简报's PDF embeds it and its
# charts are drawn in it (hometown/briefs/fonts.py). `make run` calls this; nothing is fetched at run time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
    exit 0
fi
apt_install "CJK font" fonts-noto-cjk fontconfig || {
    echo "未找到中文字体：请以 root 身份运行 apt-get install fonts-noto-cjk（调度简报的 PDF 需要）" >&2; exit 1; }
fc-cache -f >/dev/null 2>&1 || true
