"""The query layer: the warehouse turned into the figures every page, export and test needs.

No Streamlit here. Plain functions return polars frames; SQL takes parameters, never text built from input.
``metrics`` holds the one definition of each metric; ``db`` the read-only connections per warehouse version.
"""
