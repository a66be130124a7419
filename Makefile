# embedsql: two commands for a fresh machine
#   make demo   venv + install + embedded database + sample photos + a hybrid query, then the TUI
#   make test   venv + install + the test suite (under 10 minutes on 2 cores)
#   make bench  every benchmark, the peer comparison (DuckDB, LanceDB: the bench extra) included
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
BENCH  := $(VENV)/.installed-bench

.PHONY: demo test install bench bench-fts bench-smoke fuzz load clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch pinned: 2.13.0 is the CPU build (an unpinned torch pulls a multi-GB CUDA build)
	$(PIP) install --quiet "torch==2.13.0"
	# harlequin and jupyter: the integration tests drive Harlequin and an IPython shell
	$(PIP) install --quiet --config-settings editable_mode=compat -e ".[test,onnx,heif,harlequin,jupyter]"
	touch $(STAMP)

# the peers of the vector search benchmark (DuckDB + vss, LanceDB): for make bench, and for
# make test, whose smoke run of that benchmark covers them
$(BENCH): $(STAMP)
	$(PIP) install --quiet --config-settings editable_mode=compat -e ".[test,onnx,heif,harlequin,jupyter,bench]"
	touch $(BENCH)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/embedsql demo
	@echo ""
	@echo "embedsql is installed in $(VENV)/bin. To run the embedsql command from this shell:"
	@echo "  source $(VENV)/bin/activate"

# one run in a random order (pytest-randomly; the seed is printed), in two worker processes
# (pytest-xdist: each has its own embedded engine); PYTEST_ARGS adds options, e.g.
# PYTEST_ARGS="-p randomly --randomly-seed=123" repeats an order, PYTEST_ARGS="-n 0" runs in one process
test: $(BENCH)
	$(PY) -m pytest -q -m "not slow" -n 2 $(PYTEST_ARGS)

bench: $(BENCH)
	$(PY) -m benchmarks.run --out benchmarks/report

bench-fts: $(BENCH)
	$(PY) -m benchmarks.bench_fts --json benchmarks/report-fts.json

bench-smoke: $(BENCH)
	$(PY) -m benchmarks.run --smoke --out benchmarks/report-smoke

fuzz: $(STAMP)
	EMBEDSQL_FUZZ_EXAMPLES=100000 $(PY) -m pytest -q -m slow --timeout=3600 tests -k fuzz

load: $(STAMP)
	$(PY) -m pytest -q -m slow --timeout=3600 tests -k load

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
