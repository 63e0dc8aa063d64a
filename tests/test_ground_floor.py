"""The warehouse floor's shared pieces: file locks and atomic writes (warehouse.files), one warehouse path for the app
and the command line (warehouse.settings: $HOMETOWN_DB), and the commands the pipeline's CLI takes from higher floors
by entry point (pipelines.cli)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reportfiles import fetch, simple_report, village, write_report
from warehouse import db, files, settings

ROOT = Path(__file__).resolve().parent.parent


def test_file_lock_excludes_a_second_holder(tmp_path):
    target = tmp_path / "x.duckdb"
    with files.file_lock(target):
        assert files.lock_path(target).exists()
        with pytest.raises(BlockingIOError):
            with files.file_lock(target, wait=False):
                pass
        with pytest.raises(TimeoutError):
            with files.file_lock(target, timeout=0.1):
                pass
    with files.file_lock(target, wait=False):  # released: free again
        pass


def test_file_lock_serialises_processes(tmp_path):
    """A lock held by another process makes this one wait (and fail at once with wait=False)."""
    target = tmp_path / "users.toml"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom warehouse import files\n"
         f"with files.file_lock({str(target)!r}):\n    print('held', flush=True)\n    sys.stdin.readline()\n"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BlockingIOError):
            with files.file_lock(target, wait=False):
                pass
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        with files.file_lock(target, timeout=10):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "state.json"
    files.write_atomic(target, "旧内容")
    files.write_atomic(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]
    fresh = files.write_atomic(tmp_path / "secret.toml", "x", mode=0o600)
    assert stat.S_IMODE(fresh.stat().st_mode) & 0o077 == 0


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "presets.toml"
    files.write_atomic(target, "old")

    def broken(tmp, dest):
        raise OSError("disk full")

    monkeypatch.setattr(files, "replace_atomic", broken)
    with pytest.raises(OSError):
        files.write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["presets.toml"]


def test_one_warehouse_path_honours_hometown_db(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.DB_ENV, raising=False)
    assert settings.db_path() == settings.DEFAULT_DB == Path("data/warehouse.duckdb")
    monkeypatch.setenv(settings.DB_ENV, str(tmp_path / "w.duckdb"))
    assert settings.db_path() == tmp_path / "w.duckdb" == db.db_path()
    assert settings.db_path(tmp_path / "given.duckdb") == tmp_path / "given.duckdb"


def test_the_ingest_command_defaults_to_hometown_db(tmp_path):
    """The command line loads into the file the app reads: $HOMETOWN_DB when set and --db not given."""
    report = write_report(tmp_path / "红河州_20220331.xlsx", simple_report([village()]))
    target = tmp_path / "app.duckdb"
    done = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "--quiet", str(report)], cwd=ROOT,
                          env={**os.environ, settings.DB_ENV: str(target)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout
    assert [r["village"] for r in fetch(target, "SELECT village FROM village_status")] == ["花口村"]


def test_commands_registered_from_higher_floors(tmp_path):
    """``export rankings`` and ``demo`` come by entry point; the pipeline's own help lists them."""
    done = subprocess.run([sys.executable, "-m", "pipelines", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "ingest" in done.stdout and "export" in done.stdout and "demo" in done.stdout
    export = subprocess.run([sys.executable, "-m", "pipelines", "export", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert export.returncode == 0 and "rankings" in export.stdout
    demo = subprocess.run([sys.executable, "-m", "demo", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert demo.returncode == 0 and "--out" in demo.stdout
    unknown = subprocess.run([sys.executable, "-m", "pipelines", "export", "no_such_export"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "rankings" in unknown.stderr and "allowances" in unknown.stderr
