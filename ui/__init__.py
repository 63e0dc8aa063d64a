"""Streamlit building blocks shared by the pages: navigation, cached query calls, number display, breadcrumbs.

Only this package, ``app.py`` and ``pages/`` import Streamlit (and pydeck). Figures come from the query layer
(``hometown``) and the warehouse floor (``warehouse``).

Importing this package also closes a gap of Streamlit's: because the client's layout has a top-level ``pages/``
folder, a fresh server runs a deep link such as ``/region`` in the legacy pages-directory mode, straight from
``pages/region.py`` and without ``app.py`` — no navigation, no page config, and (with logins) no sign-in. Every
page imports ``ui``, so the first such run switches the legacy mode off and reruns through ``app.py``.
"""

import streamlit as _st
from streamlit.runtime.pages_manager import PagesManager as _PagesManager

if _PagesManager.uses_pages_directory:
    _PagesManager.uses_pages_directory = False
    _st.rerun()
