"""Test-wide settings: marker registration and the repository root.

Tests under tests/browser/ are marked ``browser`` automatically, so ``pytest -m "not browser"`` runs the fast
suite alone. Fixtures for the browser tests live in tests/browser/conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def pytest_configure(config: pytest.Config) -> None:
    # The open app (HOMETOWN_AUTH=off, asked for explicitly: sign-in fails closed otherwise) unless a test sets logins
    # up (HOMETOWN_AUTH=on and its own HOMETOWN_USERS): a data/users.toml left by `make run` must not put a login form
    # in front of every page test. An unexpected page error is raised after its message (ui/guard.py), so AppTest's
    # at.exception still catches it. The app store (audit rows, orders, lock-outs) and kept uploads of the tests go to a temporary folder, never to
    # data/. Set here so the Streamlit servers of the browser tests inherit them.
    import os
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="hometown-tests-"))
    os.environ["HOMETOWN_AUTH"] = "off"
    os.environ["HOMETOWN_RAISE_ERRORS"] = "1"
    os.environ["HOMETOWN_APP_DB"] = str(scratch / "app.sqlite3")  # orders, audit, lock-outs, presets (appdb)
    os.environ["HOMETOWN_UPLOADS"] = str(scratch / "uploads")
    # Also declared in pyproject.toml; repeated so the marker is known when pytest runs without that config.
    config.addinivalue_line("markers", "browser: end-to-end test in headless Debian chromium against a local Streamlit server")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _shared_once(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Path:
    """``build(folder)`` run once for the whole run: under pytest-xdist (``make test`` runs two workers) the first
    worker to ask builds it in the run's shared temporary root while the others wait on a lock, then all use it."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's report files (demo.generate.write_demo, default seed), written once per run. Read-only."""
    from demo.generate import write_demo

    return _shared_once(tmp_path_factory, "demo_reports", write_demo)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_reports: Path) -> Path:
    """The demo warehouse, built once per run through the real pipeline (demo reports → ingest).

    Read-only for tests: a test that writes must use ``demo_db_copy``.
    """
    from pipelines.ingest import ingest

    def build(folder: Path) -> None:
        results = ingest([demo_reports], folder / "warehouse.duckdb")
        refused = [(r.file_name, r.errors[:3]) for r in results if r.refused]
        assert not refused, f"demo reports refused: {refused[:3]}"

    return _shared_once(tmp_path_factory, "demo_warehouse", build) / "warehouse.duckdb"


@pytest.fixture
def demo_db_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo warehouse that a test may write to."""
    import shutil

    target = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_db, target)
    return target


@pytest.fixture
def no_legacy_pages_mode():
    """AppTest resets Streamlit's legacy pages-directory flag before every run, and with the top-level pages/ folder a
    run would then start from a page file instead of app.py (ui/__init__.py switches the mode off once per process,
    which is enough for a server). Keep it off for every run, as on the server (bench.rerun does the same)."""
    from bench.rerun import without_legacy_pages_mode

    with without_legacy_pages_mode():
        yield


# ----------------------------------------------------------------------------------- the app store (issue 18)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the session (tests/pgserver.py), stopped at the end."""
    from pgserver import Server

    server = Server().start()
    yield server
    server.stop()


_schemas = iter(range(1, 1_000_000))


@pytest.fixture(params=["embedded", "postgresql"])
def app_db(request, tmp_path, monkeypatch) -> str:
    """A fresh, empty app store on each backend, made the default (``$HOMETOWN_APP_DB``) for the test: an SQLite file
    in the test's folder, or a new schema on the session's PostgreSQL server."""
    if request.param == "embedded":
        where = str(tmp_path / "app.sqlite3")
    else:
        where = request.getfixturevalue("pg_server").fresh_schema(f"t{next(_schemas)}")
    monkeypatch.setenv("HOMETOWN_APP_DB", where)
    yield where
    if request.param == "postgresql":  # this schema's pooled connections: not kept open for the rest of the run
        from appdb.connect import close_pools

        close_pools()


@pytest.fixture
def embedded_app_db(tmp_path, monkeypatch) -> str:
    """A fresh embedded app store made the default for the test (for tests not about the backend)."""
    where = str(tmp_path / "app.sqlite3")
    monkeypatch.setenv("HOMETOWN_APP_DB", where)
    return where
