"""Text normalisation shared by the geo resolvers and the report pipeline.

Owns `normalise_text`: the single definition of how free text from a report (a place name, a header cell) is
reduced before it is compared with reference names: NFKC, traditional → simplified (OpenCC t2s), every
whitespace or invisible character removed. Both sides of every comparison go through it, so a name typed in
traditional characters, with full-width letters or with stray spaces still meets its reference.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

__all__ = ["INVISIBLE_PATTERN", "normalise_text", "t2s"]

# Whitespace plus the invisible format characters (zero-width space, BOM, word joiner, soft hyphen …) that Excel
# cells pasted from web pages or WeChat often carry; none of them is ever part of a name. The pattern is written
# so that both Python `re` and polars (Rust regex) accept it: `series.str.replace_all(INVISIBLE_PATTERN, "")`.
INVISIBLE_PATTERN = r"[\s\u00AD\u180E\u200B-\u200F\u2028-\u202F\u205F-\u2064\u3000\uFEFF]+"
_INVISIBLE = re.compile(INVISIBLE_PATTERN)


@functools.lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # Building the converter loads its dictionaries; do it once per process.
    return opencc.OpenCC("t2s")


def t2s(s: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s) with the process-wide converter."""
    return _converter().convert(s) if s else s


@functools.lru_cache(maxsize=1 << 16)
def normalise_text(s: str | None) -> str:
    """NFKC, then traditional → simplified, then every whitespace/invisible character removed.

    None gives "". The result is for comparison, not for display. Cached: reports repeat the same few
    thousand names.
    """
    if s is None:
        return ""
    s = unicodedata.normalize("NFKC", str(s))
    return _INVISIBLE.sub("", t2s(s))
