# Quick start: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DVC_NO_ANALYTICS := 1

SOURCES := policy_engine tests fixtures benchmarks

.PHONY: demo test lint check-fast fuzz fixtures bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/python fixtures/demo.py

# Lint, format check, strict type check, the whole suite (tests marked `network` are left
# out by pytest's addopts), then the MLSecOps pack's own unit tests, which must cover every
# control failing and passing; the first failing step stops it.
test: lint
	$(BIN)/python -m pytest -q
	$(BIN)/python -m policy_engine test --coverage --fail-under 100

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

# The quick loop: the suite without the slow tests (real dvc CLI, commands end to end over
# real repositories, pre-commit, wheel build, fixture regeneration, heavy property tests),
# on every core.
check-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow and not network"

# The fuzz targets (tests/fuzz) with many inputs each, in shards on every core; at the
# end, per target, the inputs tried and the slowest one. FUZZ_EXAMPLES sets the inputs
# of each loader's target, FUZZ_POLICY_EXAMPLES those of the policy parser's.
# The targets rewrite small files per input: their scratch folders go to memory
# (/dev/shm) where the machine has it; FUZZ_TMPDIR chooses another place.
FUZZ_EXAMPLES ?= 100000
FUZZ_POLICY_EXAMPLES ?= 1000000
FUZZ_TMPDIR ?= $(shell test -d /dev/shm -a -w /dev/shm && echo /dev/shm || echo $${TMPDIR:-/tmp})
fuzz: $(STAMP)
	TMPDIR=$(FUZZ_TMPDIR) \
	MLPOLICY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MLPOLICY_FUZZ_POLICY_EXAMPLES=$(FUZZ_POLICY_EXAMPLES) \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.fuzz.tally -n auto --dist worksteal \
	  tests/fuzz

fixtures: $(STAMP)
	$(BIN)/python fixtures/generate.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache
