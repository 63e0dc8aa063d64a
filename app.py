"""hometown-dispatch: the Streamlit entry point. Builds the navigation and runs the chosen page.

Run with ``make run`` (demo data) or ``streamlit run app.py``; the warehouse is read from $HOMETOWN_DB
(default data/warehouse.duckdb).
"""

import streamlit as st

from ui.nav import pages_for

st.set_page_config(page_title="干部规划家乡行动调度平台", page_icon="🏞️", layout="wide")

pages = [
    st.Page(spec.file, title=spec.title, icon=spec.icon or None, url_path=spec.url_path, default=spec.default,
            visibility="visible" if spec.in_menu else "hidden")
    for spec in pages_for(None)
]
st.navigation(pages).run()
