"""A CJK font file for the 任期承诺 notice's PDF, found on this machine (offline, never fetched).

``$HOMETOWN_CJK_FONT`` when set, else Debian's fonts-noto-cjk (Noto Sans/Serif CJK SC, face chosen by name inside
the .ttc), else fonts-wqy. The same variable and the same Debian packages as the briefing's lookup on branch
``brief`` (hometown/briefs/fonts.py), which is not merged yet: this small lookup is meant to be folded into that
one (the coordinator's note), not to grow into a second one.
"""

from __future__ import annotations

import os
from functools import lru_cache

ENV = "HOMETOWN_CJK_FONT"
CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
)
INSTALL_HINT = ("未找到可嵌入 PDF 的中文字体，无法生成 PDF（否则汉字会显示为方框）。请安装 Debian 字体包 fonts-noto-cjk"
                "（或 fonts-wqy-zenhei），或用环境变量 HOMETOWN_CJK_FONT 指定含简体中文的 .ttf/.otf/.ttc 字体文件。")


class FontMissing(RuntimeError):
    """No usable CJK font here (message in Chinese, naming what to install)."""


def _index(path: str, family: str | None) -> int:
    """The face number of ``family`` inside a collection (0 for a single font or when not found)."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    from fontTools.ttLib import TTCollection

    names = [f["name"].getDebugName(1) or "" for f in TTCollection(path, lazy=True).fonts]
    return next((i for i, n in enumerate(names) if family and n == family), 0)


@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, int]:
    """(font file, face number) of a Simplified Chinese face."""
    given = os.environ.get(ENV, "").strip()
    if given:
        if not os.path.isfile(given):
            raise FontMissing(f"环境变量 {ENV} 指定的字体文件不存在：{given}")
        return given, _index(given, None)
    for path, family in CANDIDATES:
        if os.path.isfile(path):
            return path, _index(path, family)
    raise FontMissing(INSTALL_HINT)
