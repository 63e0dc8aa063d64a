"""The CJK fonts the briefing's PDF and chart images are set in, found on this machine (offline, never fetched).

Word documents need no font file: they name 仿宋/黑体 and Word or WPS use what the reader's machine has. A PDF must
embed its glyphs, so this module finds a CJK font file: ``$HOMETOWN_CJK_FONT`` (a .ttf/.otf/.ttc with Simplified
Chinese, for a body face; ``$HOMETOWN_CJK_FONT_BOLD`` for headings), else Debian's packages: fonts-noto-cjk (Noto
Serif CJK SC for the body, the 仿宋/宋体 role; Noto Sans CJK SC Bold for headings, the 黑体 role), fonts-wqy-zenhei,
fonts-wqy-microhei, fonts-arphic-uming. ``make run`` and ``make test`` install fonts-noto-cjk when no CJK font is
present (scripts/install_cjk_font.sh). With none found, ``FontMissing`` says in Chinese what to install: a PDF with
boxes instead of characters is never written.

Why not ship a font: a subset covering the characters a briefing can contain (every village name of the roster
included) is several MB of binary in the repository, and Debian's package is one apt-get away on every machine the
platform runs on (the browser tests already need it). Why not a PyPI font package: none in the registry ships a
Simplified Chinese face under a clear licence and maintained.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

ENV_BODY = "HOMETOWN_CJK_FONT"
ENV_BOLD = "HOMETOWN_CJK_FONT_BOLD"

# (path, face name inside a collection) in order of preference. Face names, not indices: a collection's order of
# JP/KR/SC/TC faces differs between releases, the name does not.
BODY_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", "AR PL UMing CN"),
)
BOLD_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
)
# A face must have these to count as a Simplified Chinese font (a JP-only or Latin font would print boxes).
PROBE = "调度简报截至全省任务村完成率较上期提高个百分点州县镇乡滞后督办"

INSTALL_HINT = ("未找到可嵌入 PDF 的中文字体，无法生成 PDF（否则汉字会显示为方框）。请安装 Debian 字体包："
                "apt-get install fonts-noto-cjk（或 fonts-wqy-zenhei），或用环境变量 HOMETOWN_CJK_FONT 指定一个"
                "含简体中文的 .ttf/.otf/.ttc 字体文件。")


class FontMissing(RuntimeError):
    """No usable CJK font on this machine (message in Chinese, naming what to install)."""


@dataclass(frozen=True)
class Face:
    path: str
    index: int          # face number inside a .ttc collection (0 for a single font file)
    family: str         # the family name matplotlib and the PDF know it by


def _fonts(path: str) -> list:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        return TTCollection(path, lazy=True).fonts
    return [TTFont(path, lazy=True)]


def _faces(path: str) -> list[tuple[int, str, set[int]]]:
    """(index, family name, code points) of every face in a font file."""
    return [(i, f["name"].getDebugName(1) or "", set(f.getBestCmap() or {})) for i, f in enumerate(_fonts(path))]


def _pick(path: str, face_name: str | None) -> Face | None:
    if not os.path.isfile(path):
        return None
    needed = {ord(c) for c in PROBE}
    try:
        fonts = _fonts(path)
        names = [f["name"].getDebugName(1) or "" for f in fonts]
        # The named face first (reading a face's character map is the slow part), then any face of the file.
        order = [i for i, n in enumerate(names) if n == face_name] + [i for i, n in enumerate(names) if n != face_name]
        for i in order:
            if needed <= set(fonts[i].getBestCmap() or {}):
                return Face(path, i, names[i])
    except Exception:  # not a font fontTools can read: try the next candidate
        return None
    return None


def _find(env: str, candidates) -> Face | None:
    chosen = os.environ.get(env)
    if chosen:
        face = _pick(chosen, None)
        if face is None:
            raise FontMissing(f"环境变量 {env} 指定的字体文件 {chosen} 不存在或不含简体中文字形。{INSTALL_HINT}")
        return face
    for path, name in candidates:
        face = _pick(path, name)
        if face:
            return face
    return None


@lru_cache(maxsize=4)
def _cached(body_env: str | None, bold_env: str | None) -> tuple[Face, Face]:
    body = _find(ENV_BODY, BODY_CANDIDATES)
    if body is None:
        raise FontMissing(INSTALL_HINT)
    bold = (_find(ENV_BOLD, BOLD_CANDIDATES) if os.environ.get(ENV_BOLD) or not os.environ.get(ENV_BODY)
            else None) or body
    return body, bold


def faces() -> tuple[Face, Face]:
    """(body face, heading face): the heading face is the body face when no bold CJK face is installed."""
    return _cached(os.environ.get(ENV_BODY), os.environ.get(ENV_BOLD))


@lru_cache(maxsize=8)
def _cmap(path: str, index: int) -> frozenset[int]:
    fonts = _fonts(path)  # lazy: only the one face's character map is read
    return frozenset(fonts[index].getBestCmap() or {}) if index < len(fonts) else frozenset()


def missing_glyphs(text: str, face: Face | None = None) -> set[str]:
    """Characters of ``text`` (other than white space) that the face has no glyph for."""
    face = face or faces()[0]
    cmap = _cmap(face.path, face.index)
    return {c for c in text if not c.isspace() and ord(c) not in cmap}
