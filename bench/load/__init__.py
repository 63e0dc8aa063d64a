"""The load benchmark (issue 17): Streamlit's own websocket protocol spoken without a browser, sessions signed in as the
demo roles, and ``make bench --only load``.

- ``client``: one session over ``/_stcore/stream`` (BackMsg out, ForwardMsg in), as the browser's frontend does it:
  sign-in through the login form's widgets, reruns, widget clicks, page navigation, fragment auto-reruns, the
  browser's message cache; each run timed from its BackMsg to its ``script_finished``.
- ``server``: a ``streamlit run serve.py`` process with the Makefile's flags on a free port (or the workers of the
  ``serving`` package behind nginx, when it is there), and the CPU and memory of its processes from /proc.
- ``scenarios``: the benchmark section (sessions at a pace, saturation, big screens, CPU per warm rerun).
"""
