"""Reading, checking and loading prefecture reports into the DuckDB warehouse (REPORT_SPEC.md).

No Streamlit here: the pipeline runs from the command line (``python -m pipelines``), from the upload page and
from tests alike. Modules: ``read`` (files → text grids), ``header`` (find the header), ``values`` (typed-by-people
text → values), ``report`` (check one file), ``warehouse`` (schema, views, safe writes), ``ingest`` (load files),
``demo`` (the built-in demo reports), ``cli`` (the command).
"""
