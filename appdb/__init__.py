"""The app store: the tables the app itself writes (supervision orders and their history, the audit log, lock-out
state, saved ranking presets, the record of received uploads), apart from the warehouse the reports load into.

Two backends behind one setting, ``HOMETOWN_APP_DB`` (appdb.store): unset or a file path → an embedded SQLite file
(default ``data/app.sqlite3``; `make run` needs no server); ``postgresql://…`` → a PostgreSQL server shared by
several app machines. Migrations are versioned SQL files under appdb/migrations/<backend>/ (appdb.migrate).

Floor: beside the warehouse (tests/test_layering.py) — it needs nothing above the geo floor, and the warehouse
never needs it; hometown/ joins the two in Python.
"""
