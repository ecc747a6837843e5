# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export WANDB_MODE ?= disabled

.PHONY: install demo test test-fast lint bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: a CPU wheel on this machine; an unpinned torch would pull a multi-GB CUDA build.
# Everything else at the versions of constraints.txt (the lock; `make lock` regenerates it).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Re-resolve the environment without constraints in a scratch venv and write constraints.txt.
lock: | $(BIN)/python
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q torch==2.13.0 && .venv-lock/bin/pip install -q -e ".[dev]"
	head -4 constraints.txt > constraints.new
	.venv-lock/bin/pip freeze --exclude-editable | grep -vi '^torch==' >> constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-lock

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
