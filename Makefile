# Two commands for a fresh machine with Python 3.11: `make demo` (the main job) and `make test`
# (ruff, mypy on the public API, the docs site built with --strict, then pytest).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
OUT ?= runs/quick
PYTEST_ARGS ?=

.PHONY: demo tune test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.full: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e ".[all,dev]"
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(BIN)/gradtrace study --preset quick --out $(OUT)

# regenerate the quick preset's committed learning rates (docs/protocol.md; ~20 min, 2 cores)
tune: $(VENV)/.core
	$(BIN)/gradtrace study --preset quick --search-lr --out runs/tune-quick
	cp runs/tune-quick/tuned_lrs.json src/gradtrace/data/tuned/quick.json

test: $(VENV)/.full
	bash scripts/ensure_chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

format: $(VENV)/.full
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.full
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs build .pytest_cache .ruff_cache .mypy_cache
