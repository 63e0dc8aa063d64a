"""Helpers for reading pages run by Streamlit's AppTest, shared by the page tests."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def table_with(at: AppTest, column: str):
    """The table showing ``column`` (a display-only st.dataframe carries no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)
