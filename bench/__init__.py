"""Benchmarks of hometown-dispatch (``python -m bench``, ``make bench``): one aligned table of measurements.

Owns the benchmark harness: ``table`` (the Row every section returns, the printed table, artifacts/bench.json),
``timing`` (wall-clock medians), ``synthetic`` (the national-scale report set, generated and cached), ``baseline``
(the naive pandas+openpyxl loader the pipeline is compared with), ``sections`` (what is measured; later issues
add query latencies, page time-to-ready and map payloads as further sections), ``profile`` (cProfile of one file).
Nothing here is imported by the app; the pipeline is measured only through its public functions.
"""
