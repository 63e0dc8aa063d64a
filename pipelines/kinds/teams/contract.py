"""The 驻村力量 workbook's contract (TEAMS_SPEC §1) as data: its three sheets, their columns and aliases, the closed
lists and their usual short forms.

The sheets are registered with pipelines.columns so that the report machinery (header detection, header matching,
typed parsing) reads them as it reads the progress report's sheets.
"""

from __future__ import annotations

from pipelines.columns import (
    CODE, COUNTY, DATE, FLAG, INT, PREFECTURE, TEXT, TOWNSHIP, VILLAGE, Column, SheetKind, register_sheet_kinds,
)

VILLAGE_TYPES = ("重点帮扶村", "易地搬迁安置点", "一般脱贫村", "示范创建村", "软弱涣散村", "其他村")
PARTY_STATUSES = {"中共党员": "中共党员", "党员": "中共党员", "中共预备党员": "中共预备党员", "预备党员": "中共预备党员",
                  "共青团员": "共青团员", "团员": "共青团员", "群众": "群众", "民主党派": "民主党派"}
SENDING_LEVELS = {"中央": "中央", "中央派": "中央", "省": "省", "省派": "省", "省级": "省", "州市": "州市", "州派": "州市",
                  "市派": "州市", "州": "州市", "市": "州市", "州市派": "州市", "县": "县", "县派": "县", "县级": "县"}
ROLES = ("第一书记", "第一书记兼工作队长", "工作队长", "工作队员")
FIRST_SECRETARY_ROLES = ("第一书记", "第一书记兼工作队长")
STATUSES = ("在岗", "期满轮换", "召回", "调整")
IN_POST = "在岗"
ASSESSMENT_RESULTS = ("优秀", "称职", "基本称职", "不称职", "不参加考核")
PARTY_DATE_NEEDED = ("中共党员", "中共预备党员")
RESETTLEMENT = "易地搬迁安置点"

ID_NUMBER = Column("身份证号", "id_number", TEXT, ("公民身份号码", "身份证号码", "身份证"), True)
NAME = Column("姓名", "name", TEXT, (), False)

ROSTER = SheetKind(
    key="team_roster",
    title="驻村人员",
    name_hints=("驻村人员", "人员名册", "花名册", "人员"),
    signature=("id_number", "role", "start_date"),
    required_sheet=True,
    columns=(
        PREFECTURE, Column("县市区", "county", TEXT, COUNTY.aliases, True),
        Column("乡镇", "township", TEXT, TOWNSHIP.aliases),
        Column("行政村", "village", TEXT, VILLAGE.aliases),
        Column("村代码", "village_code", CODE, ("统计用区划代码", "区划代码", "村级代码", "行政区划代码")),
        Column("村类型", "village_type", TEXT, ("村庄类型", "帮扶村类型"), True),
        Column("安置点脱贫人口", "resettled_poor", INT, ("搬迁脱贫人口",)),
        Column("全村户数", "households", INT, ("农户数", "户数")),
        Column("姓名", "name", TEXT, (), True),
        ID_NUMBER,
        Column("联系电话", "phone", TEXT, ("手机号码", "电话", "手机")),
        Column("政治面貌", "party_status", TEXT, (), True),
        Column("入党时间", "party_date", DATE, ("入党日期",)),
        Column("参加工作时间", "work_date", DATE, ("工作时间",)),
        Column("派出层级", "sending_level", TEXT, ("选派层级",), True),
        Column("派出单位", "sending_unit", TEXT, ("选派单位",)),
        Column("职级", "rank", TEXT, ("职务职级",)),
        Column("驻村身份", "role", TEXT, ("驻村职务", "身份"), True),
        Column("驻村开始日期", "start_date", DATE, ("到村时间", "派驻时间"), True),
        Column("驻村结束日期", "end_date", DATE, ("离村时间",)),
        Column("在岗状态", "status", TEXT, ("状态",)),
        Column("兼帮扶村", "extra_villages", TEXT, ("一队帮多村", "联系村")),
    ),
)

ATTENDANCE = SheetKind(
    key="team_attendance",
    title="驻村考勤",
    name_hints=("驻村考勤", "考勤"),
    signature=("days_in_village",),
    required_sheet=True,
    columns=(
        ID_NUMBER, NAME,
        Column("月份", "month", TEXT, ("考勤月份",)),
        Column("在村天数", "days_in_village", INT, ("驻村天数",), True),
        Column("公务外出天数", "days_official", INT, ("因公外出天数", "出差开会培训天数")),
        Column("请假天数", "days_leave", INT, ("请销假天数",)),
        Column("未请假离岗天数", "days_absent", INT, ("擅自离岗天数", "脱岗天数")),
        Column("走访农户数", "households_visited", INT, ("入户走访户数",)),
        Column("报销往返次数", "trips", INT, ("往返交通次数",)),
    ),
)

ASSESSMENT = SheetKind(
    key="team_assessment",
    title="年度考核",
    name_hints=("年度考核", "考核"),
    signature=("result",),
    columns=(
        ID_NUMBER, NAME,
        Column("年度", "year", INT, ("考核年度",), True),
        Column("考核结果", "result", TEXT, ("考核等次",), True),
        Column("参加培训次数", "trainings", INT, ("培训次数",)),
        Column("健康体检", "health_check", FLAG, ("体检",)),
        Column("意外保险", "insurance", FLAG, ("保险", "意外伤害保险")),
    ),
)

TEAM_SHEETS = (ROSTER, ATTENDANCE, ASSESSMENT)
DAY_FIELDS = ("days_in_village", "days_official", "days_leave", "days_absent")

register_sheet_kinds(*TEAM_SHEETS)
