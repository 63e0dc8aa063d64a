"""Where things are: the repository's config folder and the warehouse file, one definition each.

The warehouse file is ``$HOMETOWN_DB`` when set, else ``data/warehouse.duckdb`` (relative to the working directory,
as the Makefile runs everything from the checkout): the app, the command line (``python -m pipelines … --db``
defaults to it) and the benchmark read the same variable, so one setting points them all at one file.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"  # office-editable settings: stages, schedule, alerts, ranking presets

DB_ENV = "HOMETOWN_DB"
DEFAULT_DB = Path("data/warehouse.duckdb")
# The shared, partitioned warehouse folder (warehouse.partitions) an app machine reads; wins over $HOMETOWN_DB.
WAREHOUSE_ENV = "HOMETOWN_WAREHOUSE"
# "1": this machine only reads the warehouse; every write path raises store.WarehouseReadOnly.
READONLY_ENV = "HOMETOWN_WAREHOUSE_READONLY"


def db_path(path: str | Path | None = None) -> Path:
    """The warehouse: ``path`` when given, else ``$HOMETOWN_WAREHOUSE`` (a folder), else ``$HOMETOWN_DB``, else
    ``data/warehouse.duckdb``."""
    return Path(path or os.environ.get(WAREHOUSE_ENV) or os.environ.get(DB_ENV) or DEFAULT_DB)


def read_only() -> bool:
    """This process may not write the warehouse (an app machine reading the shared folder)."""
    return os.environ.get(READONLY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def is_folder(path: str | Path) -> bool:
    """A partitioned warehouse (warehouse.partitions): an existing folder, or a new path without a file suffix."""
    path = Path(path)
    return path.is_dir() or (not path.exists() and path.suffix == "")
