"""Schema migrations of the app store: versioned SQL files, applied in order, once, under a lock.

``appdb/migrations/<backend>/NNNN_name.sql`` (backend ``sqlite`` or ``postgresql``: the dialects differ in identity
columns only, and each backend's file is the whole truth for it). ``schema_migrations(version, name, applied_at)``
records what has been applied. Applied on start (appdb.store.ensure_schema, before the first transaction of a
process): on PostgreSQL under a session advisory lock, so app machines starting together apply each file once; on
SQLite inside ``BEGIN IMMEDIATE``. A migration file runs in one transaction with its row in schema_migrations: it is
applied whole or not at all. Never edit an applied file: add the next number.

    python -m appdb.migrate [--db URL-or-path]    # apply and list (what `make run` does implicitly on start)
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path

from appdb import connect as store

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = "appdb:migrations"
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


def files(backend: str) -> list[tuple[str, str, Path]]:
    """(version, name, path) of the backend's migrations, in order."""
    found = []
    for path in sorted((MIGRATIONS / backend).glob("*.sql")):
        m = _FILE.match(path.name)
        if m:
            found.append((m.group(1), m.group(2), path))
    return found


def _statements(script: str) -> list[str]:
    text = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


CREATE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL, "
          "applied_at TIMESTAMP NOT NULL)")


def apply(where: str | Path | None = None) -> list[str]:
    """Apply the pending migrations; returns the versions applied now."""
    done: list[str] = []
    with store.connection(where) as (con, postgres):
        backend = "postgresql" if postgres else "sqlite"
        if postgres:
            key = store._lock_key(MIGRATION_LOCK)
            con.autocommit = True
            con.execute("SELECT pg_advisory_lock(%s)", [key])
            try:
                con.execute(CREATE)
                applied = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
                for version, name, path in files(backend):
                    if version in applied:
                        continue
                    with con.transaction():
                        for statement in _statements(path.read_text(encoding="utf-8")):
                            con.execute(statement)
                        con.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                                    [version, name, datetime.now()])
                    done.append(version)
            finally:
                con.execute("SELECT pg_advisory_unlock(%s)", [key])
        else:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(CREATE)
                applied = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
                for version, name, path in files(backend):
                    if version in applied:
                        continue
                    for statement in _statements(path.read_text(encoding="utf-8")):
                        con.execute(statement)
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, datetime.now()])
                    done.append(version)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
    return done


def applied(where: str | Path | None = None) -> list[str]:
    with store.connection(where) as (con, _):
        return [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appdb.migrate", description="应用数据库迁移")
    parser.add_argument("--db", help=f"PostgreSQL 地址或嵌入式文件路径（默认 ${store.ENV_VAR}，再默认 {store.DEFAULT_PATH}）")
    args = parser.parse_args(argv)
    now = apply(args.db)
    print(f"{store.describe(args.db)}: 本次应用 {now or '无'}；已应用 {applied(args.db)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
