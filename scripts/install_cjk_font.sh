#!/usr/bin/env bash
# Installs Debian's fonts-noto-cjk when no Simplified Chinese font is present: the 调度简报's PDF embeds it and its
# charts are drawn in it (hometown/briefs/fonts.py). `make run` calls this; nothing is fetched at run time.
set -euo pipefail
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "未找到中文字体：请以 root 身份运行 apt-get install fonts-noto-cjk（调度简报的 PDF 需要）" >&2; exit 1
fi
echo "CJK font: installing fonts-noto-cjk"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends fonts-noto-cjk fontconfig
fc-cache -f >/dev/null 2>&1 || true
