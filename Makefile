# tlkit: `make book` builds the book, `make test` runs the test suite.
# Both create or reuse .venv; it is rebuilt only when pyproject.toml changes.
# `make assignments` adds the teaching tools (otter-grader) and generates the coursework.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEACH_STAMP := $(VENV)/.installed-teach
PROFILE ?= quick
PYTEST_ARGS ?=

.PHONY: all book test lint venv clean clean-results benchmarks benchmarks-grading assignments

all: book

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[book,dev]'
	@touch $(STAMP)

venv: $(STAMP)

$(TEACH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --quiet -e '.[book,dev,teach]'
	@touch $(TEACH_STAMP)

book: $(STAMP)
	$(BIN)/tlkit book --profile $(PROFILE)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

assignments: $(TEACH_STAMP)
	$(BIN)/tlkit assignments

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/bench_profile.py --json benchmarks/last_profile.json
	$(BIN)/python benchmarks/bench_levers.py --json benchmarks/last_levers.json
	$(BIN)/python benchmarks/bench_precision.py --json benchmarks/last_precision.json
	$(BIN)/python benchmarks/bench_runs.py --json benchmarks/last_runs.json
	$(BIN)/python benchmarks/bench_train.py --json benchmarks/last_train.json
	$(BIN)/python benchmarks/bench_executors.py --json benchmarks/last_executors.json
	$(BIN)/python benchmarks/bench_book.py --profile quick --json benchmarks/last_book.json

benchmarks-grading: $(TEACH_STAMP)
	$(BIN)/tlkit assignments
	$(BIN)/python benchmarks/bench_grading.py --json benchmarks/last_grading.json

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf _build

clean-results:
	rm -rf "$${TLKIT_RESULTS:-results}"
