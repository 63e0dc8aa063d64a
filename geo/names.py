"""Naming rules for Yunnan's divisions: short names, common names and the loose matching key.

Owns the rules that turn an official name (红河哈尼族彝族自治州, 河口瑶族自治县) into the forms offices actually
write (红河 / 红河州, 河口 / 河口县), and `name_key`, which reduces any such form, or an outdated one (弥勒县), to
the same core so the resolvers in geo.reference can match it. build_reference uses the same functions to write
short_name / common_name into geo/data/divisions.csv, so the data and the matching never disagree.
"""

from __future__ import annotations

__all__ = [
    "ETHNIC_GROUPS",
    "county_common_name",
    "county_short_name",
    "name_key",
    "prefecture_common_name",
    "prefecture_short_name",
    "strip_province",
]

# The 56 officially recognised ethnic groups. Autonomous prefectures/counties carry one or more of them before
# 自治州/自治县; all 56 are listed (not just Yunnan's 25) so a misattributed name still strips cleanly.
ETHNIC_GROUPS: tuple[str, ...] = tuple(
    sorted(
        """汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族 哈萨克族
        傣族 黎族 傈僳族 佤族 畲族 高山族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族 仫佬族 羌族
        布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族 鄂温克族 德昂族 保安族
        裕固族 京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族""".split(),
        key=len,
        reverse=True,  # longest first, so 哈尼族 is tried before a shorter group that might end it
    )
)

# Suffixes a division name may end with, longest first (自治州/自治县 before 州/县). Each level strips only its own
# suffixes, so 红河州 written where a county belongs does not turn into 红河县.
_SUFFIXES = {
    "prefecture": ("自治州", "地区", "州", "市"),
    "county": ("自治县", "县", "市", "区"),
}

# Short names never drop below two characters: 云县 stays 云县 and 芒市 stays 芒市, because 云 or 芒 alone is
# not how anyone names the place and would match far too much.
_MIN_LEN = 2

_PROVINCE_PREFIXES = ("云南省", "云南")


def _strip_ethnic(base: str) -> str:
    """Drop trailing ethnic-group names (双江拉祜族佤族布朗族傣族 → 双江), keeping at least two characters."""
    changed = True
    while changed:
        changed = False
        for group in ETHNIC_GROUPS:
            if base.endswith(group) and len(base) - len(group) >= _MIN_LEN:
                base = base[: -len(group)]
                changed = True
                break
    return base


def _core(name: str, level: str) -> str:
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) - len(suffix) >= _MIN_LEN:
            return _strip_ethnic(name[: -len(suffix)])
    return name


def prefecture_short_name(name: str) -> str:
    """红河哈尼族彝族自治州 → 红河, 昆明市 → 昆明, 西双版纳傣族自治州 → 西双版纳."""
    return _core(name, "prefecture")


def prefecture_common_name(name: str) -> str:
    """What offices write: 红河州 for an autonomous prefecture, the full name (昆明市) for a city."""
    if name.endswith("自治州"):
        return prefecture_short_name(name) + "州"
    return name


def county_short_name(name: str) -> str:
    """河口瑶族自治县 → 河口, 弥勒市 → 弥勒, 五华区 → 五华, 富民县 → 富民; 云县 and 芒市 stay whole."""
    return _core(name, "county")


def county_common_name(name: str) -> str:
    """What offices write: 河口县 for an autonomous county, otherwise the official name."""
    if name.endswith("自治县"):
        return county_short_name(name) + "县"
    return name


def strip_province(text: str) -> str:
    """Drop a leading 云南省 / 云南 (云南省红河州 → 红河州); the text is otherwise unchanged."""
    for prefix in _PROVINCE_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


def name_key(text: str, level: str) -> str:
    """The loose matching core of an already normalised name at level 'prefecture' or 'county': province prefix,
    one suffix of that level and trailing ethnic groups removed. 红河州, 红河哈尼族彝族自治州 and 红河 give 红河
    (prefecture); 弥勒县 and 弥勒市 give 弥勒 (county)."""
    return _core(strip_province(text), level)
