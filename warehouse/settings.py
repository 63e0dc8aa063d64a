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


def db_path(path: str | Path | None = None) -> Path:
    """The warehouse file: ``path`` when given, else ``$HOMETOWN_DB``, else ``data/warehouse.duckdb``."""
    return Path(path or os.environ.get(DB_ENV) or DEFAULT_DB)
