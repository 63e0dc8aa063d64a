"""The report contract's sheets and columns: canonical names, aliases, types and which are required.

This is REPORT_SPEC §1–2 as data. Headers are matched after ``header_key`` normalisation, so aliases are
written here as people type them and compared in the same normalised form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from geo.text import normalise_text

# Column types, each parsed by pipelines.values.
TEXT, INT, MONEY, FLAG, STAGE, STATUS, YEAR, DATE, CODE, CHOICE = (
    "text", "int", "money", "flag", "stage", "status", "year", "date", "code", "choice",
)


@dataclass(frozen=True)
class Column:
    canonical: str          # the Chinese header of the contract, used in messages
    field: str              # the warehouse column
    kind: str               # one of the types above
    aliases: tuple[str, ...] = ()
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetKind:
    key: str                # village / county / needs / projects
    title: str              # 村庄进度 …
    name_hints: tuple[str, ...]
    columns: tuple[Column, ...]
    # Columns whose presence tells this sheet apart from the others when its name says nothing.
    signature: tuple[str, ...] = field(default=())
    required_sheet: bool = False

    def by_field(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)


PREFECTURE = Column("州市", "prefecture", TEXT, ("州(市)", "市州", "州市名称", "州、市", "市(州)"))
COUNTY = Column("县市区", "county", TEXT, ("县(市、区)", "县区", "县", "县(市区)", "县市", "县(区)", "县(市)"), True)
TOWNSHIP = Column("乡镇", "township", TEXT, ("乡(镇、街道)", "乡镇(街道)", "乡镇街道", "乡(镇)", "镇"), True)
VILLAGE = Column("行政村", "village", TEXT, ("村(社区)", "村委会", "行政村(社区)", "村", "村名"), True)
AS_OF = Column("截止日期", "as_of", DATE, ("统计日期", "截至日期", "截止时间", "统计时间"))

VILLAGE_SHEET = SheetKind(
    key="village",
    title="村庄进度",
    name_hints=("村庄进度", "进度", "任务村"),
    signature=("stage", "steps_done"),
    required_sheet=True,
    columns=(
        PREFECTURE, COUNTY, TOWNSHIP, VILLAGE, AS_OF,
        Column("村代码", "village_code", CODE, ("统计用区划代码", "区划代码", "村级代码", "行政区划代码")),
        Column("任务年度", "task_year", YEAR, ("年度", "规划年度", "任务年份"), True),
        Column("当前环节", "stage", STAGE, ("所处环节", "环节", "当前阶段"), True),
        Column("已完成步骤数", "steps_done", INT, ("完成步骤", "已完成步骤", "完成步骤数"), True),
        Column("规划状态", "plan_status", STATUS, ("成果状态", "编制状态")),
        Column("编制组人数", "group_size", INT, ("编制组成员数", "规划编制组人数", "编制组成员"), True),
        Column("其中公职人员", "civil_servants", INT, ("公职人员数", "其中:公职人员", "公职人员", "其中国家公职人员"), True),
        Column("回乡干部人次", "cadre_visits", INT, ("干部回乡人次", "回乡人次")),
        Column("乡贤能人数", "local_talents", INT, ("乡贤能人", "乡贤能人数量")),
        Column("座谈会场次", "meetings", INT, ("恳谈会场次", "座谈恳谈会", "座谈会", "座谈恳谈会场次")),
        Column("村民参与人次", "villager_participation", INT, ("群众参与人次", "村民参与")),
        Column("需求清单数", "needs_total", INT, ("梳理需求清单", "需求清单", "需求清单个数")),
        Column("已纳入规划需求数", "needs_adopted", INT, ("纳入规划需求", "纳入规划需求数", "已纳入规划需求")),
        Column("产业规划", "plan_industry", FLAG, ("专项规划产业", "产业", "专项规划产业规划")),
        Column("人才规划", "plan_talent", FLAG, ("专项规划人才", "人才", "专项规划人才规划")),
        Column("文化规划", "plan_culture", FLAG, ("专项规划文化", "文化", "专项规划文化规划")),
        Column("生态规划", "plan_ecology", FLAG, ("专项规划生态", "生态", "专项规划生态规划")),
        Column("组织规划", "plan_organisation", FLAG, ("专项规划组织", "组织", "专项规划组织规划")),
        Column("理事会", "council", FLAG, ("是否成立理事会", "村庄规划建设理事会", "成立理事会")),
        Column("项目资金", "funding_wan", MONEY, ("投入资金", "累计投入", "项目投入资金", "资金投入")),
        Column("备注", "notes", TEXT, ("说明",)),
    ),
)

COUNTY_SHEET = SheetKind(
    key="county",
    title="县级汇总",
    name_hints=("县级汇总", "县汇总", "汇总"),
    signature=("identified_civil_servants", "selected_cadres", "county_stations"),
    columns=(
        PREFECTURE, COUNTY, AS_OF,
        Column("摸排在外公职人员数", "identified_civil_servants", INT, ("摸排在外公职人员", "在外公职人员数", "摸排公职人员数")),
        Column("纳入编制组干部数", "selected_cadres", INT, ("纳入编制组干部", "选派干部数", "纳入编制组人数")),
        Column("县级联络服务站", "county_stations", INT, ("县级联络站", "县级联络服务站数")),
        Column("乡级联络服务站", "township_stations", INT, ("乡级联络站", "乡级联络服务站数", "乡镇联络服务站")),
    ),
)

NEED_CATEGORIES = ("基础设施", "产业发展", "公共服务", "人居环境", "文化传承", "其他")
NEED_STATUSES = ("已收集", "已纳入规划", "已立项", "已实施")
PROJECT_STATUSES = ("谋划", "在建", "完工")

NEEDS_SHEET = SheetKind(
    key="needs",
    title="需求清单",
    name_hints=("需求清单", "需求"),
    signature=("content",),
    columns=(
        PREFECTURE, COUNTY, TOWNSHIP, VILLAGE, AS_OF,
        Column("需求内容", "content", TEXT, ("需求", "需求事项", "需求描述"), True),
        Column("需求类别", "category", CHOICE, ("类别", "需求类型"), choices=NEED_CATEGORIES),
        Column("状态", "status", CHOICE, ("需求状态", "办理状态"), choices=NEED_STATUSES),
        Column("估算资金", "est_funding_wan", MONEY, ("估算金额", "估算投资")),
    ),
)

PROJECTS_SHEET = SheetKind(
    key="projects",
    title="项目资金",
    name_hints=("项目资金", "项目"),
    signature=("project_name",),
    columns=(
        PREFECTURE,
        COUNTY,
        Column("乡镇", "township", TEXT, TOWNSHIP.aliases),
        Column("行政村", "village", TEXT, VILLAGE.aliases),
        AS_OF,
        Column("项目名称", "project_name", TEXT, ("项目",), True),
        Column("资金来源", "source", TEXT, ("来源",)),
        Column("投入资金", "funding_wan", MONEY, ("项目资金", "资金", "投资额"), True),
        Column("项目状态", "status", CHOICE, ("状态", "进展"), choices=PROJECT_STATUSES),
    ),
)

SHEET_KINDS = (VILLAGE_SHEET, COUNTY_SHEET, NEEDS_SHEET, PROJECTS_SHEET)

# Band headers over two-row headers: their sub-columns are looked up as band+sub and sub alone.
BANDS = ("专项规划", "1+5专项规划", "其中", "五个专项规划")

# Units accepted in a money header's brackets, as multipliers to 万元.
MONEY_UNITS = {"元": 1e-4, "万元": 1.0, "亿元": 1e4}

_PUNCT = re.compile(r"[:：,，、;；*＊\"'“”‘’]")
_BRACKET = re.compile(r"^(.*?)[(\[【]([^()\[\]【】]*)[)\]】]$")


@lru_cache(maxsize=1 << 15)
def header_key(text: str) -> str:
    """Normalise a header cell for matching: simplified, half-width, no spaces, no punctuation."""
    return _PUNCT.sub("", normalise_text(text))


def split_unit(key: str) -> tuple[str, str | None]:
    """``项目资金(万元)`` → (``项目资金``, ``万元``); a header without brackets has no unit."""
    m = _BRACKET.match(key)
    if not m:
        return key, None
    return m.group(1), m.group(2)


# Sheet kinds of other report kinds (pipelines/kinds/…), registered by their rooms so that the header matching
# here (match_header, detect_layout) reads their sheets too; the keys must differ from SHEET_KINDS'.
REGISTERED_SHEET_KINDS: dict[str, SheetKind] = {}


def register_sheet_kinds(*sheet_kinds: SheetKind) -> None:
    for k in sheet_kinds:
        if any(k.key == s.key for s in SHEET_KINDS) or REGISTERED_SHEET_KINDS.get(k.key, k) is not k:
            raise ValueError(f"sheet kind registered twice: {k.key}")
        REGISTERED_SHEET_KINDS[k.key] = k


@lru_cache(maxsize=None)
def alias_table(kind_key: str) -> dict[str, Column]:
    """Normalised header text → column, for one sheet kind."""
    kind = next((k for k in SHEET_KINDS if k.key == kind_key), None) or REGISTERED_SHEET_KINDS[kind_key]
    table: dict[str, Column] = {}
    for col in kind.columns:
        for name in (col.canonical, *col.aliases):
            table.setdefault(header_key(name), col)
    return table


@lru_cache(maxsize=1 << 15)
def match_header(kind_key: str, text: str, band: str | None = None) -> tuple[Column | None, str | None]:
    """Find the column a header names, and the unit in its brackets if any.

    Tries the text as written, then without its bracketed unit, then prefixed with its band
    (``专项规划`` over ``产业``), so that 县（市、区） and 项目资金（万元） both resolve.
    """
    table = alias_table(kind_key)
    key = header_key(text)
    if not key:
        return None, None
    candidates = [(key, None)]
    base, unit = split_unit(key)
    if unit is not None:
        candidates.append((base, unit))
    if band:
        bkey = header_key(band)
        candidates += [(bkey + key, None), (bkey + base, unit)]
    for cand, u in candidates:
        col = table.get(cand)
        if col is not None:
            return col, u
    return None, None


@lru_cache(maxsize=1 << 12)
def is_band(text: str) -> bool:
    return header_key(text) in {header_key(b) for b in BANDS}
