"""Streamlit building blocks shared by the pages: navigation, cached query calls, number display, breadcrumbs.

Only this package, ``app.py`` and ``pages/`` import Streamlit. Figures come from the query layer (``hometown``).
"""
