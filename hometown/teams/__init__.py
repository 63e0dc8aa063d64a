"""驻村力量 (TEAMS_SPEC.md): the queries of the /teams page, the village page's team and the allowances (no Streamlit).

queries.py: KPIs, the county table, villages lacking their team, people short of days, terms ending, a person's card,
a village's team — every function takes the user's Scope and applies it in SQL. allowances.py: §4 per person per
month as the finance office's workbook, and ``python -m pipelines export allowances``.
"""
