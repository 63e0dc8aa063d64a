"""一图督进度: the progress map page — layout and calls only (ui.map_panel draws the map, hometown.map_data
builds it). Level, metric and drilled prefecture live in the URL, as do the filters (?year=…&asof=…)."""

import streamlit as st

from ui import map_panel
from ui.common import current_scope, filters_from_url, warehouse_ready

st.title("一图督进度")
st.caption("全省规划进度地图：按州市或县市区着色，点击州市查看所辖县市区，点击县市区打开明细。"
           "底图仅含行政区划边界，不加载任何在线地图。")

if warehouse_ready():
    filters = filters_from_url()
    notes = []
    if filters.task_year:
        notes.append(f"任务年度：{filters.task_year}年")
    if filters.as_of:
        notes.append(f"数据日期：截至{filters.as_of.isoformat()}（各州市取该日前最近一期报表）")
    if notes:
        st.caption(" · ".join(notes))
    map_panel.render_page(filters, current_scope())
