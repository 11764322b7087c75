# Two entry points for a newcomer: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install bytecode browser demo test test-unit lint es-start es-stop es-status bench clean \
	prefect-start prefect-stop prefect-status

# Re-installs only when the dependency list changes, so repeated `make demo` is quick.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "newsflow needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock -e '.[dev]'
	$(MAKE) --no-print-directory bytecode
	touch $@

# Every module compiled once here (~1.5 min): uv installs no bytecode, and where
# PYTHONDONTWRITEBYTECODE is set (containers, CI, this machine) Python never writes it, so each
# command compiled the ~2,000 modules it imports, every time: seconds of every start-up
# (bench/README.md, start-up). A few modules are for newer Pythons and do not compile on 3.11
# (never imported here): errors are not a failure. A stale file is fine: Python compiles a
# module again when its source changed.
bytecode:
	@echo "compiling the virtualenv's modules and newsflow's to bytecode"
	@$(BIN)/python -m compileall -q -j 0 \
	  "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
	  newsflow flows transforms > /dev/null || true

install: $(STAMP)

# The Prefect server keeps running beside the node: the demo run is in its UI (127.0.0.1:4200).
demo: install
	$(BIN)/newsflow prefect start
	$(BIN)/newsflow demo

# The search-page test drives Debian's Chromium (Playwright cannot download a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "the search-page test needs Chromium: sudo apt-get install -y chromium"; exit 1; \
	  fi; }

# Lint, format and type checks, then every test: the integration tests use a real
# Elasticsearch node (a running local node, or one started for the session; NEWSFLOW_ES_URL:
# that cluster) and the search-page test drives Chromium.
test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# The quick loop: the same checks and tests/unit only, which need no node and no browser.
test-unit: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest tests/unit

# The static checks alone; mypy checks what [tool.mypy] in pyproject.toml says.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

es-start: install
	$(BIN)/newsflow es start

es-stop: install
	$(BIN)/newsflow es stop

es-status: install
	$(BIN)/newsflow es status

prefect-start: install
	$(BIN)/newsflow prefect start

prefect-stop: install
	$(BIN)/newsflow prefect stop

prefect-status: install
	$(BIN)/newsflow prefect status

# Last line: end_to_end_vs_cpu_limit=<x> run500_vs_cpu_limit=<y> end_to_end_vs_naive=<z> (~25 min).
bench: es-start
	$(BIN)/python bench/pipeline.py

# The same, plus a 20,000-article run whose peak memory is compared with the 2,000 (45+ min).
.PHONY: bench-memory
bench-memory: es-start
	$(BIN)/python bench/pipeline.py --memory-check

# Load-step benchmark (25+ min, needs Elasticsearch); last line loader_vs_raw_bulk=<x>.
# bench/README.md says what it prints; `bench/load_bench.py --quick` runs only that comparison.
.PHONY: bench-load
bench-load: install
	$(BIN)/python bench/load_bench.py

# Faceted search at 1,000,000 articles on a node of its own (port 9280, 4g heap, data in
# /work/search-state or $$SEARCH_BENCH_STATE_DIR); the index is built once (1-3 h on two
# busy cores) and reused. bench/README.md says what it prints. BENCH_SEARCH_ARGS="--api"
# also times the search through the API over HTTP; "--docs 100000" a smaller index.
BENCH_SEARCH_ARGS ?=
.PHONY: bench-search
bench-search: install
	nice -n 10 $(BIN)/python bench/search_bench.py $(BENCH_SEARCH_ARGS)

clean:
	-$(BIN)/newsflow prefect stop
	-$(BIN)/newsflow es stop
	rm -rf $(VENV) .newsflow .pytest_cache .ruff_cache .mypy_cache
