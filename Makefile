# Set-up is part of each target: a fresh machine needs only python3 (>= 3.10) and make (and a C
# compiler, which it has in most images, to compile the modules setup.py names).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast lint bench

# setup.py compiles some modules (mypyc), and Python imports them before their sources: an edit
# to one builds them again.
COMPILED := $(shell sed -n 's/^    "\(dara_migrate\/.*\.py\)",$$/\1/p' setup.py)

$(BIN)/dara-migrate: pyproject.toml setup.py $(COMPILED)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

demo: $(BIN)/dara-migrate
	$(BIN)/dara-migrate audit examples/sales_dashboard --statistics || [ $$? -eq 1 ]

# Each test file runs whole on one process (`loadfile`): real-build and real-server tests share
# one built or served app per module.
test: $(BIN)/dara-migrate
	$(BIN)/python -m pytest -q -n auto --dist loadfile

test-fast: $(BIN)/dara-migrate
	$(BIN)/python -m pytest -q -m 'not slow' --hypothesis-profile fast -n auto

lint: $(BIN)/dara-migrate
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(BIN)/dara-migrate
	$(BIN)/python bench/run.py --jobs 2
