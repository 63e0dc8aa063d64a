"""The national-scale synthetic report set: ~500,000 village rows over many .xlsx files, valid by the contract.

One workbook per prefecture per reporting date, as offices send them (REPORT_SPEC §1): three title rows
(表名, 填报单位, 截至日期), a 序号 column, one header row, the village rows, a 合计 row that adds up, and the
注/填表人 footer. Counties are the real counties of each prefecture (geo.reference.counties()); townships and
villages get synthetic names and 12-digit village codes that start with the county code, so the pipeline never
needs the roster. Every value obeys the contract (stage/steps consistent, 其中公职人员 ≤ 编制组人数 …) and the
规划状态 follows the stage, so every file is accepted without a warning.

Files are written with xlsxwriter in constant_memory mode and cached under the temp dir, keyed by the
parameters, so repeated benchmark runs reuse them; a ``manifest.json`` written last marks a complete set.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import xlsxwriter

from geo import reference
from warehouse import stages

# Bump when the layout or the values change, so stale caches are not reused.
GENERATOR_VERSION = 2
ROWS_PER_FILE_TARGET = 15_000
PREFECTURE_COUNT = 16
VILLAGES_PER_TOWNSHIP = 15
REPORT_DATES = (date(2022, 3, 31), date(2022, 6, 30), date(2022, 9, 30), date(2022, 12, 31), date(2023, 3, 31),
                date(2023, 6, 30), date(2023, 9, 30), date(2023, 12, 31))

HEADER = ("序号", "州市", "县市区", "乡镇", "行政村", "村代码", "任务年度", "当前环节", "已完成步骤数", "规划状态",
          "编制组人数", "其中公职人员", "回乡干部人次", "乡贤能人数", "座谈会场次", "村民参与人次", "需求清单数",
          "已纳入规划需求数", "产业规划", "人才规划", "文化规划", "生态规划", "组织规划", "理事会", "项目资金（万元）",
          "备注")
HEADER_ROW = 3  # 0-based index of the header row (three title rows above it)
# Columns summed in the 合计 row (indices into HEADER).
SUMMED = tuple(range(10, 18)) + (24,)

# Characters for synthetic place names; two of them make up to 3,600 distinct names.
_NAME_CHARS = ("安平和兴隆盛新华丰德福永太清河山水石龙凤云白岩松柏林茂源泉溪田坝营寨阳光明宝金玉"
               "长乐寿康宁吉祥瑞顺利泰东南西北中上下大小")
_NOTES = ("", "", "", "", "", "", "", "", "规划成果待州级审查", "已召开村民代表大会", "编制组驻村调研",
          "结合乡村振兴示范村建设")


@dataclass(frozen=True)
class Params:
    rows: int = 500_000
    dates: int | None = None        # reporting dates per prefecture; None: so that files hold ~15,000 rows
    prefectures: int | None = None  # the first N prefectures in official order; None: all 16, fewer for small sets
    seed: int = 20210626

    def resolved_prefectures(self) -> int:
        """All 16, unless the set is too small to give each ~15,000 rows: then fewer, so that a small (--quick)
        set has files of the full set's size and per-file costs weigh the same in both."""
        if self.prefectures:
            return min(self.prefectures, PREFECTURE_COUNT)
        return max(1, min(PREFECTURE_COUNT, round(self.rows / ROWS_PER_FILE_TARGET)))

    def resolved_dates(self) -> int:
        if self.dates:
            return min(self.dates, len(REPORT_DATES))
        per_date = self.resolved_prefectures() * ROWS_PER_FILE_TARGET
        return max(1, min(len(REPORT_DATES), round(self.rows / per_date)))

    def key(self) -> str:
        return (f"v{GENERATOR_VERSION}-rows{self.rows}-dates{self.resolved_dates()}"
                f"-pref{self.resolved_prefectures()}-seed{self.seed}")


@dataclass
class SyntheticSet:
    params: Params
    directory: Path
    files: list[Path]
    rows_per_file: dict[str, int]   # file name → village rows
    generated_seconds: float | None  # None when the cached set was reused

    @property
    def rows(self) -> int:
        return sum(self.rows_per_file.values())

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / "hometown-bench"


def _name(i: int) -> str:
    """A distinct name for every i: two characters below 3,600, then three."""
    n = len(_NAME_CHARS)
    head = _NAME_CHARS[(i // (n * n)) % n] if i >= n * n else ""
    return head + _NAME_CHARS[(i // n) % n] + _NAME_CHARS[i % n]


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as integers allow."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def village_rows(prefecture_code: str, prefecture_label: str, n_rows: int, rng: random.Random,
                 date_index: int = 0, dates: int = 1) -> list[list]:
    """The data rows of one report (序号 … 备注), spread over the prefecture's real counties.

    Names and codes depend only on the prefecture and the row's place in it, so the same villages report on
    every date. ``rng`` must be seeded the same for every date of a prefecture: each village draws its final
    figures from it, and report ``date_index`` of ``dates`` shows them as far along as that date — stages never go
    back and cumulative figures never fall, as in real reports (else every village would raise a 累计数回落 alert).
    """
    counties = reference.counties().filter(reference.counties()["prefecture_code"] == prefecture_code) \
        .sort("code").select("code", "name").rows()
    share = (date_index + 1) / max(1, dates)
    behind = max(0, dates - 1 - date_index)

    def part(n: int) -> int:
        return int(n * share)

    rows: list[list] = []
    serial = 0
    for (county_code, county_name), n_villages in zip(counties, _split(n_rows, len(counties))):
        for v in range(n_villages):
            t_idx, v_idx = divmod(v, VILLAGES_PER_TOWNSHIP)
            township = _name(t_idx) + ("镇" if t_idx % 3 else "乡")
            village = _name(v_idx * 11 + t_idx) + ("社区" if v_idx == VILLAGES_PER_TOWNSHIP - 1 else "村")
            code = f"{county_code}{t_idx + 1:03d}{v_idx + 1:03d}"
            final_stage = min(7, max(1, int(rng.triangular(1, 8, min(8, 2 + 2 * (dates - 1))))))
            stage = max(1, final_stage - behind)
            lo, hi = stages.steps_allowed(stage)
            steps = lo + round(rng.random() * (hi - lo))
            statuses = stages.expected_statuses(stage, steps)
            status = statuses[rng.randrange(1000) % len(statuses)]
            group = rng.randint(3, 15)
            civil = rng.randint(0, group)
            needs_final = rng.randint(0, 40)
            needs, adopted = part(needs_final), part(rng.randint(0, needs_final))
            done = min(5, max(0, stage - 2))
            plans = ["是"] * done + ["否"] * (5 - done)
            serial += 1
            rows.append([
                serial, prefecture_label, county_name, township, village, code, rng.randint(2021, 2023), stage,
                steps, status, group, civil, part(rng.randint(0, 60)), rng.randint(0, 12), part(rng.randint(0, 10)),
                part(rng.randint(0, 1500)), needs, min(adopted, needs), *plans,
                "是" if rng.random() < 0.6 else "否", round(rng.uniform(0, 500) * share, 2), rng.choice(_NOTES),
            ])
    return rows


def write_report(path: Path, prefecture_label: str, as_of: date, rows: list[list]) -> Path:
    """One .xlsx report in the common layout (title rows, header, data, 合计, footer), constant memory."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("村庄进度")
    ws.write_string(0, 0, f"{prefecture_label}干部规划家乡行动工作进度统计表")
    ws.write_string(1, 0, f"填报单位：{prefecture_label}委组织部（盖章）")
    ws.write_string(2, 0, f"截至{as_of.year}年{as_of.month}月{as_of.day}日")
    for c, h in enumerate(HEADER):
        ws.write_string(HEADER_ROW, c, h)
    write_string, write_number = ws.write_string, ws.write_number
    r = HEADER_ROW
    for row in rows:
        r += 1
        for c, v in enumerate(row):
            if isinstance(v, str):
                if v:
                    write_string(r, c, v)
            else:
                write_number(r, c, v)
    r += 1
    write_string(r, 0, "合计")
    for c in SUMMED:
        total = sum(row[c] for row in rows)
        write_number(r, c, round(total, 2) if isinstance(total, float) else total)
    write_string(r + 1, 0, "注：本表由各县（市、区）专班填报，数据为截至统计时间的累计数。")
    write_string(r + 2, 0, "填表人：张三    审核人：李四    联系电话：0873-1234567")
    wb.close()
    return path


def ensure_set(params: Params = Params(), root: Path | None = None, progress=None) -> SyntheticSet:
    """The synthetic set for ``params``: reused from the cache when complete, else generated (and timed)."""
    directory = (root or cache_root()) / params.key()
    manifest = directory / "manifest.json"
    if manifest.exists():
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        files = [directory / name for name in doc["rows_per_file"]]
        if all(p.exists() for p in files):
            return SyntheticSet(params, directory, files, doc["rows_per_file"], None)
    if directory.exists():
        shutil.rmtree(directory)  # an interrupted generation
    directory.mkdir(parents=True)
    t0 = time.perf_counter()
    prefs = reference.prefectures().sort("sort_order").head(params.resolved_prefectures()) \
        .select("code", "common_name").rows()
    n_dates = params.resolved_dates()
    per_file = _split(params.rows, len(prefs) * n_dates)
    rows_per_file: dict[str, int] = {}
    files: list[Path] = []
    for p_idx, (code, label) in enumerate(prefs):
        # Every date of a prefecture reports the same villages: the first date's count for all of them.
        n_rows = max(1, per_file[p_idx * n_dates])
        for d_idx, as_of in enumerate(REPORT_DATES[:n_dates]):
            rng = random.Random(f"{params.seed}-{code}")  # the same villages' draws on every date
            path = directory / f"{label}_{as_of:%Y%m%d}.xlsx"
            write_report(path, label, as_of, village_rows(code, label, n_rows, rng, d_idx, n_dates))
            rows_per_file[path.name] = n_rows
            files.append(path)
            if progress:
                progress(len(files), len(prefs) * n_dates)
    seconds = time.perf_counter() - t0
    doc = {"params": asdict(params), "rows_per_file": rows_per_file, "generated_seconds": seconds}
    manifest.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return SyntheticSet(params, directory, files, rows_per_file, seconds)


def single_file(path: Path, rows: int = 30_000, prefecture_code: str = "532500", seed: int = 1) -> Path:
    """One report of ``rows`` villages (for profiling one file)."""
    label = reference.prefectures().filter(reference.prefectures()["code"] == prefecture_code)["common_name"][0]
    return write_report(path, label, REPORT_DATES[0], village_rows(prefecture_code, label, rows, random.Random(seed)))


def expected_files(params: Params) -> int:
    return params.resolved_prefectures() * params.resolved_dates()


def rows_per_file(params: Params) -> int:
    return math.ceil(params.rows / expected_files(params))
