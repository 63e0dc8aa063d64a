# hometown-dispatch: the two commands are `make run` and `make test` (README.md). GNU make.
#   venv     .venv with Python 3.11 and the pinned packages (`pip install -e .[test]`), redone when pyproject changes
#   sysdeps  Debian chromium + a CJK font + pdftotext + postgresql (server for the app-store tests), only when missing
#   fonts    a CJK font for the briefing's PDF (fonts-noto-cjk), installed only when missing
#   demo     the demo warehouse data/warehouse.duckdb, built only when missing
#   users    the demo users data/users.toml (one per role), written only when missing
#   run      serve the dashboard on http://localhost:$(PORT) (one Streamlit process: the demo command)
#   serve    the same with $(WORKERS) Streamlit workers behind nginx on http://localhost:$(PORT) (serving/)
#   nginx    Debian's nginx-light for `serve` and the workers test, installed only when missing
#   test     the whole pytest suite (browser tests included); fails when pytest fails
#   bench    the benchmark table

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.hometown-installed
# The interpreter that creates the venv: python3.11 when on PATH, else python3 (checked to be 3.11 below).
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
# The warehouse the app serves: $HOMETOWN_DB when set (as the app itself reads it), else the demo warehouse.
HOMETOWN_DB ?= data/warehouse.duckdb
DB := $(HOMETOWN_DB)
# The users file (sign-in): $HOMETOWN_USERS when set, as the app reads it; demo users are written when it is missing.
HOMETOWN_USERS ?= data/users.toml
USERS := $(HOMETOWN_USERS)
DEMO := data/demo
PORT ?= 8501
# make serve: worker processes (empty: one per core).
WORKERS ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 2
BENCH_ARGS ?=

# Streamlit must not phone home or open a browser, show tracebacks or offer its own table download; the same settings live in .streamlit/config.toml, repeated
# here so a user-level config cannot switch them back on. browser.serverAddress set by hand stops the external-IP
# lookup (checkip.amazonaws.com) that a headless start otherwise makes.
STREAMLIT_FLAGS := --server.port $(PORT) --server.headless true --browser.gatherUsageStats false \
	--browser.serverAddress localhost --server.fileWatcherType none \
	--client.showErrorDetails none --client.disableDataExport true

.PHONY: help venv install sysdeps nginx fonts demo users run serve test bench

help:
	@echo "make run    - install, build the demo warehouse and demo users if missing, serve http://localhost:$(PORT)"
	@echo "make serve  - the same with WORKERS= Streamlit workers (default one per core) behind nginx on PORT"
	@echo "make test   - install (incl. Debian chromium + CJK font if missing), run the test suite"
	@echo "make bench  - print the benchmark table"
	@echo "make venv | sysdeps | demo | users"

$(PY):
	@test -n "$(BOOTSTRAP_PYTHON)" || { echo "python3.11 not found" >&2; exit 1; }
	@$(BOOTSTRAP_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, $(BOOTSTRAP_PYTHON) is %d.%d" % sys.version_info[:2])'
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

venv install: $(STAMP)

sysdeps:
	bash scripts/install_system_deps.sh
	bash scripts/install_postgresql.sh

nginx:
	bash scripts/install_nginx.sh

fonts:
	bash scripts/install_cjk_font.sh

# Ingest exits 1 when some demo file was refused (the rest loaded): only a usage/load error (2+) stops the build.
$(DB): | $(STAMP)
	mkdir -p $(dir $(DB)) $(DEMO)
	$(PY) -m demo --out $(DEMO)
	rc=0; $(PY) -m pipelines ingest $(DEMO) --db $(DB) --quiet || rc=$$?; \
	if [ $$rc -gt 1 ] || [ ! -f $(DB) ]; then echo "building the demo warehouse failed (exit $$rc)" >&2; exit 1; fi

demo: $(DB)

# One demo user per role (README "Users and roles"); an existing users file is never touched.
$(USERS): | $(STAMP)
	mkdir -p $(dir $(USERS))
	$(PY) -m hometown.access.auth --users $(USERS) demo --if-missing

users: $(USERS)

# serve.py: app.py behind our middleware (no /_stcore/metrics, anti-framing and CSP headers, exported files' addresses
# expire); sign-in is required (demo users above); HOMETOWN_AUTH=off in the environment opens the app, with a notice.
run: $(STAMP) fonts $(DB) $(USERS)
	HOMETOWN_DB=$(DB) HOMETOWN_USERS=$(USERS) $(PY) -m streamlit run serve.py $(STREAMLIT_FLAGS)

# Several workers behind nginx (serving/, README "Serving it"): nginx on $(PORT), workers on $(PORT)+1 …, each
# `streamlit run serve.py` with the flags above; a dead worker is started again. Ctrl-C stops all.
serve: $(STAMP) nginx fonts $(DB) $(USERS)
	HOMETOWN_DB=$(DB) HOMETOWN_USERS=$(USERS) PORT=$(PORT) WORKERS=$(WORKERS) $(PY) -m serving

# Two pytest-xdist workers (the reference machine's cores), each test file whole on one worker so that a module's
# fixtures are built once; session fixtures such as the demo warehouse are built once per run (tests/conftest.py).
# TEST_WORKERS=0 runs everything in one process.
test: $(STAMP) sysdeps nginx
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)
