"""Reading, checking and loading prefecture reports into the DuckDB warehouse (REPORT_SPEC.md).

No Streamlit here: the pipeline runs from the command line (``python -m pipelines``), from the upload page and
from tests alike. Modules: ``read`` (files → text grids), ``header`` (find the header), ``columns`` (the contract as
data), ``values`` (typed-by-people text → values), ``report`` (check one progress file), ``checks`` (worker
processes), ``ingest`` (load files), ``safety`` (guards for outside files), ``template`` (blank workbook), ``cli``
(the command), ``kinds`` (the report kinds by registration). The warehouse it writes is the floor below
(``warehouse.store``); the demo reports it loads come from ``demo``.
"""
