"""一图督进度: the progress map page — layout and calls only (ui.map_panel draws the map, hometown.progress.map_data
builds it). Level, metric and drilled prefecture live in the URL, as do the filters (?year=…&asof=…)."""

from ui.guard import from_app; from_app()  # noqa: E702  first: a page renders only when app.py ran it (signed in)

import streamlit as st

from hometown.progress import overview
from ui import map_panel, prefetch, widgets
from ui.common import current_scope, filters_from_url, run, warehouse_ready

if warehouse_ready():
    filters, scope = filters_from_url(), current_scope()
    head, bar = st.columns([3, 2], vertical_alignment="bottom")
    with head:
        st.title("一图督进度", anchor=False)
        st.caption("按州市或县市区着色；点击州市查看所辖县市区，点击县市区打开明细。"
                   "只画行政区划边界，不加载任何在线底图。")
    with bar:
        widgets.filter_bar(filters, run(overview.task_years, scope), run(overview.reporting_dates, scope), "map")
    map_panel.render_page(filters, scope)
    prefetch.region_page_code()  # a county click opens its region page: its tables' code, while the user reads
