"""hometown-dispatch: the Streamlit entry point. Signs the user in, builds the navigation and runs the chosen page.

Run with ``make run`` (demo data and demo users) or ``streamlit run app.py``; the warehouse is read from $HOMETOWN_DB
(default data/warehouse.duckdb), the users from $HOMETOWN_USERS (default data/users.toml). Sign-in is required
unless HOMETOWN_AUTH=off asks for the open app (no sign-in, the whole province, a notice on every page); a users
file that is missing or damaged lets nobody in. Pages a role may not use are absent from the navigation
(ui/nav.py), not merely hidden. The page runs through ui.guard: an error shows a Chinese message, never a traceback.
"""

import streamlit as st

from ui import auth as ui_auth
from ui import guard
from ui.nav import pages_for

st.set_page_config(page_title="干部规划家乡行动调度平台", page_icon="🏞️", layout="wide")


def pages(role: str | None) -> list:
    return [
        st.Page(spec.file, title=spec.title, icon=spec.icon or None, url_path=spec.url_path, default=spec.default,
                visibility="visible" if spec.in_menu else "hidden")
        for spec in pages_for(role)
    ]


role = ui_auth.gate(pages)  # the login form and st.stop() until someone signs in (unless HOMETOWN_AUTH=off)
ui_auth.refused_page(role)  # a deep link to a page this role does not have: say so (and audit it)
navigation = st.navigation(pages(role))
ui_auth.sidebar()
ui_auth.open_notice()  # the open app says so on every page
guard.run_page(navigation)
