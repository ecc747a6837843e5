# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export WANDB_MODE ?= disabled

.PHONY: install demo test test-fast lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: a CPU wheel on this machine; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# the sweep's end-of-run callback fits, plots, prints the verdict and writes report.md
demo: install
	$(BIN)/scaling-train experiment=quickstart

# the whole suite: tests/unit/ and the end-to-end sweeps of tests/e2e/ (marked slow), on two
# pytest-xdist workers; the end-to-end tests share one worker (one smoke sweep, see tests/conftest.py)
test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -n 2 --dist loadgroup

# the inner loop: everything but the subprocess sweeps
test-fast: install
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python scripts/bench_train.py
	$(BIN)/python scripts/bench_fit.py

clean:
	rm -rf $(VENV) runs .pytest_cache
