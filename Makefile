# Retailor — the two commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
DEMO_DATA ?= demo-data
DEMO_PORT ?= 8642

.PHONY: setup demo test lint format serve clean screenshots

# gbstats (GrowthBook's stats engine) is the reference the experiment statistics are tested
# against; installed --no-deps since its metadata pins an old NumPy and pandas (what it
# imports, pydantic among it, is in the dev extra).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps gbstats==0.8.0
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/retailor demo --data $(DEMO_DATA) --port $(DEMO_PORT)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

test: setup lint
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	$(VENV)/bin/pytest -q

# Refresh the screenshots docs/dashboard.md shows (the browser tests take them).
screenshots: setup
	bash scripts/ensure-browser.sh
	RETAILOR_SCREENSHOTS=$(CURDIR)/docs/screenshots $(VENV)/bin/pytest -q tests/browser

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
