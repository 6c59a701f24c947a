# Two commands on a fresh machine: `make run` serves the API, `make test` runs the tests.
# Both create the virtualenv and install the locked dependencies first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint check schemas docs bench soak performance clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)  ## serve on $(HOST):$(PORT) (127.0.0.1:8000) with SQLite in data/ and the rules in rules/
	$(BIN)/compliance-engine serve

test: lint  ## lint, types, then the whole suite; set TEST_DATABASE_URL to also run the API tests on PostgreSQL
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff over the code, tests and benchmarks; mypy (strict) over service/ (pyproject.toml says how)
	$(BIN)/ruff check service tests bench
	$(BIN)/mypy

check: $(STAMP)  ## validate rules/, compile it and run every rule's examples
	$(BIN)/compliance-engine check rules/
	$(BIN)/compliance-engine rulebase-doc --check

schemas: $(STAMP)  ## regenerate schemas/ from the code
	$(BIN)/compliance-engine schemas

docs: $(STAMP)  ## regenerate docs/rulebase.md from rules/
	$(BIN)/compliance-engine rulebase-doc

bench: $(STAMP)  ## evaluation time per profile (median, p99)
	$(BIN)/python bench/evaluate.py

soak: $(STAMP)  ## RSS over 100,000 evaluations
	$(BIN)/python bench/soak.py

performance: $(STAMP)  ## every figure of docs/performance.md (about 25 minutes; throughput.py needs wrk)
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/activations.py --activations 500
	$(BIN)/python bench/batch.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/contention.py

clean:
	rm -rf $(VENV) data .pytest_cache
