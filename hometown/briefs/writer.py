"""The briefing written out: the model's figures (hometown.briefs.model) as the sentences a secretary writes, the
charts, and the closing table — one ``Document`` that the Word and PDF renderers lay out the same way, so the two
files carry the same text.

Numbers are written as hometown.fmt writes them everywhere (12,034; 43.3%), changes of a rate in 百分点 with one
decimal from the unrounded rates, changes of rank as hometown.rankings.index writes them (↑3, ↓2, 持平, 新).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hometown import fmt
from hometown.rankings.index import change_text
from warehouse import metrics

KIND = "调度简报"
CAMPAIGN = "干部规划家乡行动"
NUMERALS = "一二三四五六七八九十"


@dataclass
class Block:
    kind: str                        # heading | para | note | table | chart
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: bytes = b""
    landscape: bool = False          # tables: on a page of their own, turned (many columns)


@dataclass
class Document:
    title: str                       # 干部规划家乡行动调度简报
    number_text: str                 # 第3期 / 征求意见稿（未编号）
    office: str                      # the issuing office, in the header and under the title
    date_text: str                   # 2022年7月5日: the day of issue
    blocks: list[Block]
    scope_name: str
    as_of: str

    def text(self) -> str:
        """Every word of the document in reading order (what a text extraction of either file contains)."""
        parts = [self.title, self.number_text, self.office, self.date_text]
        for b in self.blocks:
            if b.kind == "table":
                parts.append(b.text)
                parts += ["\t".join(b.header)] + ["\t".join(r) for r in b.rows]
            elif b.text:
                parts.append(b.text)
        return "\n".join(parts)


def cn_date(d: date | str | None) -> str:
    """2022-06-30 → 2022年6月30日."""
    if d is None:
        return "—"
    if isinstance(d, str):
        d = date.fromisoformat(d[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def points_change(now, before, up: str = "提高", down: str = "下降") -> str:
    """The change of a rate in 百分点: '提高8.1个百分点', '下降0.5个百分点', '持平'."""
    if now is None or before is None:
        return ""
    d = round((now - before) * 100, 1)
    if d > 0:
        return f"{up}{d:.1f}个百分点"
    if d < 0:
        return f"{down}{-d:.1f}个百分点"
    return "持平"


def count_change(now, before, unit: str) -> str:
    if now is None or before is None:
        return ""
    d = now - before
    if d > 0:
        return f"增加{fmt.plain(d)}{unit}"
    if d < 0:
        return f"减少{fmt.plain(-d)}{unit}"
    return "持平"


def default_office(model: dict[str, Any]) -> str:
    """The issuing office as offices sign: the province's office, a prefecture's project group, a county's task
    force (the same names hometown.dispatch.orders prints as responsible units)."""
    if model["scope_level"] == "province":
        return f"{model['scope_name']}{CAMPAIGN}领导小组办公室"
    if model["scope_level"] == "prefecture":
        return f"{model['scope_name']}{CAMPAIGN}项目组"
    return f"{model['scope_name']}{CAMPAIGN}工作专班"


def title(model: dict[str, Any]) -> str:
    return f"{model['scope_name']}{CAMPAIGN}{KIND}"


def number_text(number: int | None) -> str:
    return f"第{number}期" if number else "征求意见稿（未编号）"


def _headline(model: dict[str, Any]) -> list[Block]:
    h, p = model["headline"], model["previous"]
    label, as_of = model["scope_label"], cn_date(model["as_of"])
    prev_text = f"较上期（{cn_date(model['previous_as_of'])}）" if p else ""
    s1 = (f"截至{as_of}，{label}{fmt.plain(h['task_villages'])}个任务村中已有{fmt.plain(h['plans_completed'])}个"
          f"完成规划成果，完成率{fmt.percent(h['completion_rate'])}")
    if p:
        s1 += f"，{prev_text}{points_change(h['completion_rate'], p['completion_rate'])}"
    s1 += (f"；成果入库{fmt.plain(h['plans_in_database'])}个，入库率{fmt.percent(h['database_rate'])}")
    if p:
        s1 += f"，{points_change(h['database_rate'], p['database_rate'])}"
    s1 += "。"
    s2 = (f"{label}组建规划编制组{fmt.plain(h['planning_groups'])}个，组建率{fmt.percent(h['group_rate'])}，"
          f"编制组中国家公职人员{fmt.plain(h['civil_servants'])}人；干部回乡{fmt.plain(h['cadre_visits'])}人次")
    if p:
        s2 += f"，{count_change(h['cadre_visits'], p['cadre_visits'], '人次')}"
    s2 += (f"，召开座谈恳谈会{fmt.plain(h['meetings'])}场，村民参与{fmt.plain(h['villager_participation'])}人次；"
           f"收集群众需求{fmt.plain(h['needs_total'])}条，纳入规划{fmt.plain(h['needs_adopted'])}条，"
           f"需求纳入率{fmt.percent(h['adoption_rate'])}；落实项目资金{fmt.money_wan(h['funding_wan'])}。")
    blocks = [Block("heading", "一、总体进展"), Block("para", s1), Block("para", s2)]
    if not p:
        blocks.append(Block("note", "本期为首期简报，无上期数据可比。"))
    if model["late"]:
        names = "、".join(f"{x['name']}（沿用{cn_date(x['as_of'])}数据）" if x["as_of"] else f"{x['name']}（尚无数据）"
                         for x in model["late"])
        blocks.append(Block("para", f"{names}本期未按时报送，按其最近一期已受理报表的数据计入。"))
    corr = model.get("correction")
    if corr:
        parts = "；".join(f"{metrics.LABELS.get(k, k)}由{fmt.plain(a)}个更正为{fmt.plain(b)}个"
                         for k, (a, b) in corr["changed"].items())
        blocks.append(Block("note", f"注：上期（第{corr['number']}期）简报印发后，有关州市报送了更正报表，上期数据"
                                    f"已更正：{parts}。本期“较上期”按更正后的数据计算。"))
    return blocks


def _schedule(model: dict[str, Any]) -> list[Block]:
    s = model["schedule"]
    label, as_of = model["scope_label"], cn_date(model["as_of"])
    out = [Block("heading", "二、计划进度")]
    if s.get("provincial_expected") is not None and s.get("completion_rate") is not None:
        gap = points_change(s["completion_rate"], s["provincial_expected"], "超前", "落后")
        verdict = "与计划持平" if gap == "持平" else gap
        out.append(Block("para", f"按照全省“30%、40%、30%”分年度推进的安排，截至{as_of}应累计完成约"
                                 f"{fmt.percent(s['provincial_expected'])}，{label}实际完成率"
                                 f"{fmt.percent(s['completion_rate'])}，{verdict}。"))
    parts = []
    for y in s["years"]:
        gap = points_change(y["progress"], y["expected"], "超前", "落后")
        parts.append(f"{y['task_year']}年度任务村{fmt.plain(y['task_villages'])}个，规划编制进度"
                     f"{fmt.percent(y['progress'])}，按计划（{cn_date(y['deadline'])}完成）应达"
                     f"{fmt.percent(y['expected'])}，{'与计划持平' if gap == '持平' else gap}")
    if parts:
        out.append(Block("para", "分年度看，" + "；".join(parts) + "。（规划编制进度为28个步骤的完成比例。）"))
    return out


def _ranking(model: dict[str, Any], charts: dict[str, bytes]) -> list[Block]:
    kids = [c for c in model["children"] if c["rank"] is not None]
    level = model["children_level"]
    if not kids:
        return []
    out = [Block("heading", f"三、各{level}进展排名")]
    has_prev = model["previous_as_of"] is not None
    top = "、".join(f"{c['name']}（{fmt.percent(c['completion_rate'])}）" for c in kids[:3])
    text = f"按规划完成率排名，居前的是{top}"
    if len(kids) > 3:
        bottom = "、".join(f"{c['name']}（{fmt.percent(c['completion_rate'])}）" for c in kids[-3:])
        text += f"；居后的是{bottom}"
    text += "。"
    if has_prev:
        moved = [(c, c["prev_rank"] - c["rank"]) for c in kids if c["prev_rank"] is not None]
        ups = sorted([m for m in moved if m[1] > 0], key=lambda m: (-m[1], m[0]["rank"]))
        downs = sorted([m for m in moved if m[1] < 0], key=lambda m: (m[1], m[0]["rank"]))
        if ups:
            text += f"与上期相比，名次上升最多的是{ups[0][0]['name']}（上升{ups[0][1]}位）"
            text += f"，下降最多的是{downs[0][0]['name']}（下降{-downs[0][1]}位）。" if downs else "。"
        elif downs:
            text += f"与上期相比，名次下降最多的是{downs[0][0]['name']}（下降{-downs[0][1]}位）。"
        else:
            text += "与上期相比，名次没有变化。"
    out.append(Block("para", text))
    unreported = [c["name"] for c in model["children"] if c["rank"] is None]
    if unreported:
        out.append(Block("note", f"{'、'.join(unreported)}尚无任务村数据，未参加排名。"))
    if "ranking" in charts:
        out.append(Block("chart", f"图1  各{level}规划完成率（截至{cn_date(model['as_of'])}）", image=charts["ranking"]))
    return out


def _lagging(model: dict[str, Any], n: int) -> list[Block]:
    a = model["alerts"]
    out = [Block("heading", f"{NUMERALS[n]}、滞后预警")]
    if not a["total"]:
        out.append(Block("para", "本期未触发调度预警。"))
        return out
    out.append(Block("para", f"本期共触发调度预警{fmt.plain(a['total'])}条，其中红色预警{fmt.plain(a['red'])}条、"
                             f"黄色预警{fmt.plain(a['yellow'])}条。"))
    for i, t in enumerate(a["types"], start=1):
        names = "、".join(t["names"])
        more = f"等{fmt.plain(t['places'])}处" if t["places"] > len(t["names"]) else f"共{fmt.plain(t['places'])}处"
        if t["alert_type"] in ("county_behind", "low_adoption"):
            who = f"{names}{more.replace('处', '个县（市、区）')}"
        elif t["alert_type"] == "late_report":
            who = f"{names}{more.replace('处', '个州（市）')}"
        else:
            who = f"涉及{fmt.plain(t['villages'])}个村（{names}{'等' if t['places'] > len(t['names']) else ''}）"
        out.append(Block("para", f"（{i}）{t['label']}：{who}，红色{fmt.plain(t['red'])}条、黄色{fmt.plain(t['yellow'])}条。"))
    return out


def _orders(model: dict[str, Any], n: int) -> list[Block]:
    o = model["orders"]
    start = o["period_start"]
    period = (f"{cn_date(date.fromordinal(date.fromisoformat(start).toordinal() + 1))}至{cn_date(o['period_end'])}"
              if start else f"截至{cn_date(o['period_end'])}")
    out = [Block("heading", f"{NUMERALS[n]}、调度督办")]
    if not (o["issued"] or o["closed"] or o["open"]):
        out.append(Block("para", f"{period}，未下发督办单。"))
        return out
    out.append(Block("para", f"{period}，共下发督办单{fmt.plain(o['issued'])}件，办结{fmt.plain(o['closed'])}件；"
                             f"截至{cn_date(o['period_end'])}，尚未办结{fmt.plain(o['open'])}件，"
                             f"其中逾期{fmt.plain(o['overdue'])}件。"))
    return out


TABLE_HEADER = ["排名", "名次变化", "地区", "数据截至", "任务村", "完成规划", "完成率", "成果入库", "入库率",
                "干部回乡（人次）", "收集需求（条）", "需求纳入率", "项目资金（万元）"]


def table_row(c: dict[str, Any], has_previous: bool) -> list[str]:
    change = change_text(c["prev_rank"], c["rank"], has_previous) if c["rank"] is not None else None
    return [str(c["rank"]) if c["rank"] is not None else "—", change or "—", c["name"],
            c["as_of"] or "—", fmt.plain(c["task_villages"]), fmt.plain(c["plans_completed"]),
            fmt.percent(c["completion_rate"]), fmt.plain(c["plans_in_database"]), fmt.percent(c["database_rate"]),
            fmt.plain(c["cadre_visits"]), fmt.plain(c["needs_total"]), fmt.percent(c["adoption_rate"]),
            fmt.plain(c["funding_wan"], 1)]


def compose(model: dict[str, Any], number: int | None = None, office: str | None = None,
            issued_on: date | datetime | None = None, charts: dict[str, bytes] | None = None) -> Document:
    """The document of a model: ``number`` None makes the unnumbered draft (征求意见稿)."""
    from hometown.briefs import charts as chart_images

    charts = chart_images.draw(model) if charts is None else charts
    issued_on = issued_on or date.fromisoformat(model["computed_at"][:10])
    blocks = _headline(model) + _schedule(model)
    ranking = _ranking(model, charts)
    blocks += ranking
    n = 3 if ranking else 2
    blocks += _lagging(model, n)
    blocks += _orders(model, n + 1)
    n += 2
    for extra in model.get("optional") or []:
        blocks.append(Block("heading", f"{NUMERALS[n]}、{extra['title']}"))
        blocks += [Block("para", p) for p in extra["paragraphs"]]
        n += 1
    if "trend" in charts:
        blocks.append(Block("chart", f"图{2 if 'ranking' in charts else 1}  {model['scope_label']}规划完成率、入库率走势",
                            image=charts["trend"]))
    if model["children"]:
        has_prev = model["previous_as_of"] is not None
        blocks.append(Block("table", f"附表  各{model['children_level']}主要指标（截至{cn_date(model['as_of'])}）",
                            header=TABLE_HEADER, rows=[table_row(c, has_prev) for c in model["children"]],
                            landscape=True))
        blocks.append(Block("note", "说明：完成率＝完成规划成果的村÷任务村；入库率＝成果入库的村÷任务村；需求纳入率＝"
                                    "纳入规划的需求÷收集的需求。各州市按截至本期日期的最近一期已受理报表计；名次变化与上期"
                                    "（" + (cn_date(model["previous_as_of"]) if has_prev else "无") + "）相比。"))
    return Document(title=title(model), number_text=number_text(number), office=office or default_office(model),
                    date_text=cn_date(issued_on), blocks=blocks, scope_name=model["scope_name"], as_of=model["as_of"])


def preview_text(doc: Document) -> list[tuple[str, str]]:
    """(kind, text) of every heading, paragraph and note, for the page's preview."""
    return [(b.kind, b.text) for b in doc.blocks if b.kind in ("heading", "para", "note")]
