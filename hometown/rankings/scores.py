"""Judges' scores for 大擂台大比武: the scores workbook, its template, and the results (awards and laggards).

Owns reading a scores workbook (one row per plan per judge; .xlsx/.xls/.ods through python-calamine, or .csv),
refusing bad input with Chinese reasons that name file, sheet, row, column and value; the rule (with 5 or more
judges the single highest and single lowest score are dropped, the rest averaged, two decimals rounded half up);
standard competition ranking; the top N marked awarded (Honghe rewarded 13) and the bottom K named laggards; the
tables the page shows and the exports write, with judges' names masked or left out by role (hometown.privacy).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import PurePath

import polars as pl
import python_calamine
import xlsxwriter

from geo.text import normalise_text
from hometown import export, privacy

DEFAULT_AWARDS = 13          # Honghe rewarded the best 13 plans
DEFAULT_LAGGARDS = 3
DROP_FROM_JUDGES = 5         # with this many judges or more, drop the highest and the lowest score
DEFAULT_MAX_SCORE = 100.0
TEMPLATE_SHEET = "评分表"
MAX_ERRORS = 50

# (field, canonical header, aliases). Headers match after geo.text.normalise_text and without a bracketed unit.
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("plan_id", "编号", ("参赛编号", "作品编号", "规划编号")),
    ("plan", "参赛规划", ("规划名称", "参赛作品", "作品名称", "村庄规划", "参赛规划名称")),
    ("prefecture", "州市", ("州(市)", "市州")),
    ("county", "县市区", ("县(市、区)", "县区", "县")),
    ("township", "乡镇", ("乡(镇、街道)", "乡镇(街道)")),
    ("village", "行政村", ("村(社区)", "村委会", "行政村(社区)")),
    ("judge", "评委", ("评委姓名", "评审专家", "评审人", "评委编号")),
    ("score", "得分", ("分数", "评分", "评委评分", "打分")),
)
REQUIRED = ("plan", "judge", "score")
HEADERS = {f: canonical for f, canonical, _ in COLUMNS}
PLACE_FIELDS = ("prefecture", "county", "township", "village")
AWARDED, LAGGARD = "获奖", "末位"


class ScoresError(ValueError):
    """The workbook was refused; ``errors`` lists every reason (Chinese, naming file, sheet, row, column, value)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ScoreSheet:
    file_name: str
    sheet: str
    frame: pl.DataFrame            # excel_row, plan_key, plan_id, plan, prefecture…village, judge, score
    judges: list[str]              # in order of first appearance
    warnings: list[str] = field(default_factory=list)


def _header_keys(text) -> tuple[str, str]:
    """The header as typed (normalised), and without a trailing bracketed part such as （百分制）."""
    t = normalise_text(str(text or ""))
    return t, re.sub(r"[(\[【].*?[)\]】]$", "", t) or t


def _aliases() -> dict[str, str]:
    out = {}
    for f, canonical, aliases in COLUMNS:
        for a in (canonical, *aliases):
            out[normalise_text(a)] = f
    return out


def _read_rows(data: bytes, file_name: str) -> list[tuple[str, list[list]]]:
    """(sheet name, rows) of every visible sheet; a CSV is one sheet named after the file."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ScoresError([f"{file_name}: 无法识别文件编码（请保存为 UTF-8 或 GBK 编码的 CSV，或 Excel 文件）"])
        return [(PurePath(file_name).stem, [list(r) for r in csv.reader(io.StringIO(text))])]
    if suffix not in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise ScoresError([f"{file_name}: 不支持的文件类型“{suffix or '无扩展名'}”，请上传 .xlsx、.xls 或 .csv 文件"])
    if not data:
        raise ScoresError([f"{file_name}: 文件是空的"])
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in wb.sheets_metadata:
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                continue
            sheets.append((meta.name, wb.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)))
    except python_calamine.PasswordError:
        raise ScoresError([f"{file_name}: 文件已加密，请取消密码后再上传"]) from None
    except Exception as exc:  # calamine raises several types for files that are not spreadsheets
        raise ScoresError([f"{file_name}: 无法读取，不是有效的Excel文件（{type(exc).__name__}）"]) from None
    return sheets


def _find_header(rows: list[list]) -> tuple[int, dict[str, int]]:
    """(row index, field → column) of the first of the top 10 rows naming the most known columns."""
    aliases = _aliases()
    best = (-1, {})
    for i, row in enumerate(rows[:10]):
        found: dict[str, int] = {}
        for c, cell in enumerate(row):
            full, short = _header_keys(cell)
            f = aliases.get(full) or aliases.get(short)
            if f and f not in found:
                found[f] = c
        if sum(f in found for f in REQUIRED) > sum(f in best[1] for f in REQUIRED):
            best = (i, found)
    return best


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _score(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return Decimal(str(value))
    text = normalise_text(str(value or "")).replace(",", "").rstrip("分")
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def read_scores(data: bytes, file_name: str, max_score: float = DEFAULT_MAX_SCORE, role: str | None = None) -> ScoreSheet:
    """Read and check a scores workbook; refuse it whole, with every reason, when anything is wrong.

    Judges' names in the reasons are masked unless the role may see them (the reasons are shown on screen).
    """
    sheets = _read_rows(data, file_name)
    if not sheets:
        raise ScoresError([f"{file_name}: 没有可见的工作表"])
    # The template's sheet by name, else the first sheet whose header has the required columns.
    ordered = sorted(sheets, key=lambda s: normalise_text(s[0]) != normalise_text(TEMPLATE_SHEET))
    chosen = None
    for name, rows in ordered:
        header_at, cols = _find_header(rows)
        if all(f in cols for f in REQUIRED):
            chosen = (name, rows, header_at, cols)
            break
    if chosen is None:
        name, rows = ordered[0]
        header_at, cols = _find_header(rows)
        missing = "、".join(HEADERS[f] for f in REQUIRED if f not in cols)
        where = f"第{header_at + 1}行表头" if header_at >= 0 else "前10行"
        raise ScoresError([f"{file_name} / {name} / {where}: 缺少必填列：{missing}"
                           f"（需要列：{'、'.join(HEADERS[f] for f in REQUIRED)}；请使用评分表模板）"])
    sheet, rows, header_at, cols = chosen
    errors: list[str] = []
    records = []
    seen: dict[tuple[str, str], int] = {}
    names_by_id: dict[str, tuple[str, int]] = {}
    limit = Decimal(str(max_score))

    def err(row: int, f: str, value, what: str) -> None:
        shown = "（空）" if _text(value) == "" else _text(value)
        errors.append(f"{file_name} / {sheet} / 第{row}行 / {HEADERS[f]}: {shown} {what}")

    for i, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        cell = {f: (row[c] if c < len(row) else None) for f, c in cols.items()}
        texts = [_text(v) for v in row]
        if not any(texts):
            continue
        first = next(t for t in texts if t)
        if first.startswith(("注", "说明", "备注", "填表", "合计")) and not _text(cell.get("score")):
            continue
        plan, judge = _text(cell.get("plan")), _text(cell.get("judge"))
        plan_id = _text(cell.get("plan_id"))
        ok = True
        if not plan:
            err(i, "plan", cell.get("plan"), "不能为空")
            ok = False
        if not judge:
            err(i, "judge", cell.get("judge"), "不能为空")
            ok = False
        value = _score(cell.get("score"))
        if value is None:
            err(i, "score", cell.get("score"), "不是有效的分数（应为数字）")
            ok = False
        elif value < 0 or value > limit:
            err(i, "score", cell.get("score"), f"超出范围（应在 0～{max_score:g} 之间）")
            ok = False
        if plan_id and plan:
            first_name = names_by_id.setdefault(plan_id, (plan, i))
            if first_name[0] != plan:
                err(i, "plan", plan, f"与第{first_name[1]}行不一致：编号 {plan_id} 对应的参赛规划是“{first_name[0]}”")
                ok = False
        key = plan_id or plan
        if ok:
            if (key, judge) in seen:
                err(i, "judge", privacy.mask_name(judge, role), f"对同一参赛规划重复评分（与第{seen[(key, judge)]}行重复）")
                ok = False
            else:
                seen[(key, judge)] = i
        if ok:
            records.append({"excel_row": i, "plan_key": key, "plan_id": plan_id or None, "plan": plan,
                            **{f: _text(cell.get(f)) or None for f in PLACE_FIELDS},
                            "judge": judge, "score": float(value)})
        if len(errors) >= MAX_ERRORS:
            errors.append(f"{file_name}: 错误过多，仅列出前{MAX_ERRORS}条")
            break
    if not errors and not records:
        errors.append(f"{file_name} / {sheet}: 没有评分数据（表头在第{header_at + 1}行，其下没有数据行）")
    if errors:
        raise ScoresError(errors)
    schema = {"excel_row": pl.Int64, "plan_key": pl.String, "plan_id": pl.String, "plan": pl.String,
              **{f: pl.String for f in PLACE_FIELDS}, "judge": pl.String, "score": pl.Float64}
    frame = pl.DataFrame(records, schema=schema)
    judges = list(dict.fromkeys(frame["judge"].to_list()))
    counts = frame.group_by("plan_key", maintain_order=True).len()
    warnings = []
    if counts["len"].n_unique() > 1:
        most = counts["len"].max()
        for key, n in counts.filter(pl.col("len") < most).iter_rows():
            warnings.append(f"{file_name} / {sheet}: 参赛规划“{key}”只有{n}位评委评分（最多的为{most}位）")
    return ScoreSheet(file_name, sheet, frame, judges, warnings)


# ---------------------------------------------------------------------------------------------------- the rule


def final_score(scores: list[float], drop_from: int = DROP_FROM_JUDGES) -> tuple[Decimal, bool]:
    """(the plan's score, whether the highest and lowest were dropped): 2 decimals, rounded half up."""
    if not scores:
        raise ValueError("no scores")
    values = sorted(Decimal(str(s)) for s in scores)
    dropped = len(values) >= drop_from
    kept = values[1:-1] if dropped else values
    mean = sum(kept) / len(kept)
    return mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), dropped


def results(sheet: ScoreSheet, awards: int = DEFAULT_AWARDS, laggards: int = DEFAULT_LAGGARDS,
            drop_from: int = DROP_FROM_JUDGES) -> pl.DataFrame:
    """One row per plan: judges, highest, lowest, dropped, final score, rank (1, 2, 2, 4), awarded / laggard."""
    if awards < 0 or laggards < 0:
        raise ValueError("获奖名额和末位名额不能为负数")
    rows = []
    for (key,), group in sheet.frame.group_by("plan_key", maintain_order=True):
        scores = group["score"].to_list()
        final, dropped = final_score(scores, drop_from)
        first = group.row(0, named=True)
        rows.append({"order": len(rows), "plan_key": key, "plan_id": first["plan_id"], "plan": first["plan"],
                     **{f: first[f] for f in PLACE_FIELDS}, "judges": len(scores), "highest": max(scores),
                     "lowest": min(scores), "dropped": dropped, "final": float(final)})
    frame = pl.DataFrame(rows)
    frame = frame.with_columns(
        pl.col("final").rank("min", descending=True).cast(pl.Int32).alias("rank"),
        pl.col("final").rank("min", descending=False).cast(pl.Int32).alias("rank_from_bottom"),
    )
    # Ties at the boundary share the place: every plan ranked N or better is awarded, every plan among the K
    # lowest (ranked from the bottom) is named — but a plan is never both.
    frame = frame.with_columns(
        pl.when(pl.col("rank") <= awards).then(pl.lit(AWARDED))
        .when(pl.col("rank_from_bottom") <= laggards).then(pl.lit(LAGGARD))
        .otherwise(pl.lit("")).alias("outcome"))
    return frame.sort(["rank", "order"]).drop("order")


def results_kinds(frame: pl.DataFrame) -> dict[str, str]:
    kinds = {"排名": export.INT}
    if frame["plan_id"].is_not_null().any():
        kinds["编号"] = export.TEXT
    kinds["参赛规划"] = export.TEXT
    for f in PLACE_FIELDS:
        if frame[f].is_not_null().any():
            kinds[HEADERS[f]] = export.TEXT
    kinds |= {"评委人数": export.INT, "最高分": export.SCORE, "最低分": export.SCORE, "去掉最高最低分": export.TEXT,
              "最后得分": export.SCORE, "评审结果": export.TEXT}
    return kinds


def results_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The results as the page shows them and the exports write them (Chinese headers)."""
    source = {"排名": "rank", "编号": "plan_id", "参赛规划": "plan", "评委人数": "judges", "最高分": "highest",
              "最低分": "lowest", "最后得分": "final", "评审结果": "outcome"}
    source |= {HEADERS[f]: f for f in PLACE_FIELDS}
    cols = []
    for header in results_kinds(frame):
        if header == "去掉最高最低分":
            cols.append(pl.when(pl.col("dropped")).then(pl.lit("是")).otherwise(pl.lit("否")).alias(header))
        else:
            cols.append(pl.col(source[header]).alias(header))
    return frame.select(cols)


def judge_labels(sheet: ScoreSheet, role: str | None, for_export: bool = False) -> dict[str, str]:
    """Column header per judge: the name for admin/analyst; else 评委1（张*） on screen and 评委1 in files."""
    out = {}
    for i, name in enumerate(sheet.judges, start=1):
        if privacy.may_see_names(role):
            out[name] = name
        elif for_export:
            out[name] = f"评委{i}"
        else:
            out[name] = f"评委{i}（{privacy.mask_name(name, role)}）"
    return out


def detail_table(sheet: ScoreSheet, role: str | None, for_export: bool = False) -> pl.DataFrame:
    """Each plan's score from each judge (plans down, judges across), judges named per judge_labels."""
    labels = judge_labels(sheet, role, for_export)
    wide = (sheet.frame.with_columns(pl.col("judge").replace_strict(labels).alias("judge"))
            .pivot(on="judge", index=["plan_key", "plan"], values="score", aggregate_function="first",
                   maintain_order=True))
    ordered = [labels[j] for j in sheet.judges if labels[j] in wide.columns]
    ids = [pl.col("plan_key").alias("编号")] if sheet.frame["plan_id"].is_not_null().any() else []
    return wide.select(*ids, pl.col("plan").alias("参赛规划"), *ordered)


def method_notes(sheet: ScoreSheet, awards: int, laggards: int, drop_from: int = DROP_FROM_JUDGES,
                 role: str | None = None) -> list[tuple[str, str]]:
    res_judges = sheet.frame.group_by("plan_key").len()["len"]
    return [
        ("评分文件", f"{sheet.file_name} / {sheet.sheet}"),
        ("参赛规划", f"{sheet.frame['plan_key'].n_unique()} 个"),
        ("评委", f"{len(sheet.judges)} 位（每个规划 {res_judges.min()}～{res_judges.max()} 位评委评分）"),
        ("计分规则", f"评委人数达到{drop_from}位及以上时，去掉一个最高分和一个最低分后取平均；不足{drop_from}位时直接取平均"),
        ("小数", "最后得分保留两位小数，四舍五入"),
        ("并列规则", "最后得分相同者名次并列，其后名次顺延（竞赛排名法：1、2、2、4）"),
        ("获奖", f"排名前{awards}名（含并列）为获奖规划"),
        ("末位", f"得分最低的{laggards}名（含并列，不含获奖规划）为末位通报规划"),
        ("个人信息", "评委姓名属个人信息：本文件" + ("含评委姓名，请妥善保管" if privacy.may_see_names(role)
                                           else "不含评委姓名，评委以编号表示")),
    ]


def results_xlsx(sheet: ScoreSheet, frame: pl.DataFrame, awards: int, laggards: int, role: str | None,
                 drop_from: int = DROP_FROM_JUDGES) -> bytes:
    table = results_table(frame)
    detail = detail_table(sheet, role, for_export=True)
    detail_kinds = {c: export.SCORE for c in detail.columns} | {"编号": export.TEXT, "参赛规划": export.TEXT}
    title = f"干部规划家乡行动“大擂台大比武”评审结果（获奖{awards}名、末位{laggards}名）"
    return export.xlsx_bytes(
        [export.Sheet("评审结果", table, results_kinds(frame), title, f"评分文件：{sheet.file_name}"),
         export.Sheet("评分明细", detail, detail_kinds, "各评委评分明细")],
        method_notes(sheet, awards, laggards, drop_from, role), notes_title="评分规则说明")


def template_xlsx(judges: int = 7, max_score: float = DEFAULT_MAX_SCORE) -> bytes:
    """The scores workbook to fill in: sheet 评分表 (one row per plan per judge) and 填写说明."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    header = wb.add_format({"bold": True, "border": 1, "align": "center", "bg_color": "#DDEBF7"})
    text = wb.add_format({"num_format": "@"})
    ws = wb.add_worksheet(TEMPLATE_SHEET)
    headers = [HEADERS[f] for f, _, _ in COLUMNS]
    widths = {"编号": 8, "参赛规划": 30, "州市": 10, "县市区": 10, "乡镇": 12, "行政村": 14, "评委": 12, "得分": 8}
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, header)
        ws.set_column(c, c, widths.get(h, 12), text if h != "得分" else None)
    score_col = headers.index("得分")
    ws.data_validation(1, score_col, 5000, score_col, {
        "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": max_score,
        "error_title": "分数超出范围", "error_message": f"得分应在 0～{max_score:g} 之间"})
    for c, h in enumerate(headers):
        if h in ("参赛规划", "评委", "得分"):
            ws.write_comment(0, c, "必填")
    ws.freeze_panes(1, 0)
    notes = wb.add_worksheet("填写说明")
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    lines = [
        "“大擂台大比武”评委评分表 填写说明",
        "1. 在“评分表”工作表填写，每位评委对每个参赛规划的评分占一行；表头请勿修改。",
        "2. 必填列：参赛规划、评委、得分。编号、州市、县市区、乡镇、行政村为选填；填写编号时，同一编号须对应同一参赛规划。",
        f"3. 得分为 0～{max_score:g} 之间的数字；同一评委对同一参赛规划只能评分一次。",
        f"4. 计分规则：评委达到{DROP_FROM_JUDGES}位及以上时去掉一个最高分和一个最低分后取平均，不足{DROP_FROM_JUDGES}位时直接取平均，"
        "保留两位小数（四舍五入）；得分相同名次并列。",
        f"5. 示例：编号 1，参赛规划“可邑村实用性村庄规划”，县市区 弥勒市，评委 评委A，得分 88.5（共{judges}位评委则填{judges}行）。",
        "6. 评委姓名属个人信息，平台页面上以“张*”形式显示，导出文件默认不含评委姓名。",
    ]
    notes.set_column(0, 0, 110, wrap)
    for r, line in enumerate(lines):
        notes.write_string(r, 0, line)
    wb.close()
    return buf.getvalue()
