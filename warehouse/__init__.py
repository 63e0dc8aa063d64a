"""The ground floor: the DuckDB warehouse and the definitions every floor above shares.

Owns the schema of every table and public view (``store``, the app's own tables included), the build-and-swap
writer (``store.writing``) and loader (``store.loading``), the partitioned folder shared by several machines
(``partitions``), the read connections per warehouse version (``db``), the file locks and atomic file
writes everything else uses (``files``), the paths and settings (``settings``), and the shared definitions: the
7 stages and 28 steps (``stages``), the metrics (``metrics``), the schedule (``schedule``), who sees what
(``scope``) and the dispatch alert rules materialised at the end of every write (``alerts``).

Imports only ``geo`` below it; no Streamlit, no pydeck (tests/test_layering.py).
"""
