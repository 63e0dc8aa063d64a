"""hometown-dispatch: the Streamlit entry point. Signs the user in, builds the navigation and runs the chosen page.

Run with ``make run`` (demo data and demo users) or ``streamlit run app.py``; the warehouse is read from $HOMETOWN_DB
(default data/warehouse.duckdb), the users from $HOMETOWN_USERS (default data/users.toml). With no users file, or
HOMETOWN_AUTH=off, the app runs open (no sign-in, the whole province). Pages a role may not use are absent from
the navigation (ui/nav.py), not merely hidden.
"""

import streamlit as st

from ui import auth as ui_auth
from ui.nav import pages_for

st.set_page_config(page_title="干部规划家乡行动调度平台", page_icon="🏞️", layout="wide")


def pages(role: str | None) -> list:
    return [
        st.Page(spec.file, title=spec.title, icon=spec.icon or None, url_path=spec.url_path, default=spec.default,
                visibility="visible" if spec.in_menu else "hidden")
        for spec in pages_for(role)
    ]


role = ui_auth.gate(pages)  # the login form and st.stop() until someone signs in (when logins are configured)
ui_auth.refused_page(role)  # a deep link to a page this role does not have: say so (and audit it)
navigation = st.navigation(pages(role))
ui_auth.sidebar()
navigation.run()
