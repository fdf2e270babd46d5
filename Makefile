# Every target creates the virtual environment it needs, so a fresh clone runs `make demo` or `make test` directly.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make histories` records a set of histories for the replay tests (see README, "Changing the workflow"): the
# complaints into tests/histories/$(HISTORIES_VERSION)/, the daily report's runs into
# tests/histories/daily_report/$(HISTORIES_VERSION)-*.json. Name the version on the command line (the next free
# vN), so an existing set is never overwritten by accident.

.PHONY: histories demo test fuzz lock chaos bench bench-rest bench-placement bench-read-model bench-search-attributes bench-scale bench-storm lint typecheck check clean dev-up dev-down worker

# requirements.lock pins every package (pip constraints), so a fresh clone installs what the suite last passed with.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,tracing]'
	touch $(STAMP)

# Re-resolve every dependency to its newest allowed version and pin the result (then run `make test`).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet -e '.[dev,tracing]'
	{ head -2 requirements.lock; .lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

demo: $(STAMP)
	$(BIN)/whistle demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# The property and fuzz tests with fresh randomness and ten times the examples (tests/fuzzing.py); `make test`
# runs the same tests from a fixed seed. Failures found are kept in .hypothesis/ and tried first next time.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q tests/test_fuzz.py tests/test_fold_properties.py tests/test_gateway_openapi.py \
		tests/test_gateway_fuzz.py

# The full fault suite (about half an hour, progress on stderr): 300 cases through 10 worker SIGKILLs, 2 Temporal
# restarts, a 10-minute PostgreSQL outage and 2 minutes of a webhook that accepts connections and never answers;
# "store ⊆ history" is checked at every sample all through the run, and it fails when a held case's history
# grows more than 10 events over the outage or commands during the outage or the silence take p99 over 5 s.
# `python -m tests.chaos --help` lists every knob (these are the defaults).
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --cases 300 --kills 10 --temporal-restarts 2 --outage 600 --webhook-silence 120

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy .

dev-up: $(STAMP)
	$(BIN)/whistle dev up

dev-down: $(STAMP)
	$(BIN)/whistle dev down

# Its own stack in a temporary directory on free ports; writes BENCHMARKS.md and bench/results/latest.json.
bench: $(STAMP)
	$(BIN)/python -m bench.run

# The memory target at full size: 10,000 cases brought to report-in (about 15 minutes); BENCHMARKS.md uses it.
bench-rest: $(STAMP)
	$(BIN)/python -m bench.run --phases rest --open-cases 10000 --label open-cases-10000

# Placing a point among 6,400 grids (about a minute, no servers); writes its section of BENCHMARKS.md.
bench-placement: $(STAMP)
	$(BIN)/python -m bench.placement

# Lists and reports over 100,000 cases in the read model (about ten minutes, PostgreSQL only); writes its section.
bench-read-model: $(STAMP)
	$(BIN)/python -m bench.read_model

# What each search attribute costs a workflow task (a few minutes, its own stack); writes its section.
bench-search-attributes: $(STAMP)
	$(BIN)/python -m bench.search_attributes

# 100,000 open cases at rest against one worker (an hour or more, not in `make test`): the worker's RSS, the filing rate
# per 10,000, and the first command to a case evicted from the worker's cache; writes its section. `--cases` etc.:
# `python -m bench.scale --help`.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

# 10,000 open cases whose report-in deadlines end in the same second, then a worker SIGKILLed and restarted with them
# open (about 50 minutes with its own servers; `python -m bench.storm --help` lists the sizes); writes its section.
bench-storm: $(STAMP)
	$(BIN)/python -m bench.storm

worker: $(STAMP)
	$(BIN)/whistle worker

clean:
	-$(BIN)/whistle dev down
	rm -rf $(VENV) .whistle

histories: $(STAMP)
	$(if $(HISTORIES_VERSION),,$(error say which: make histories HISTORIES_VERSION=vN))
	rm -rf tests/histories/$(HISTORIES_VERSION) tests/histories/daily_report/$(HISTORIES_VERSION)-*.json
	WHISTLE_RECORD_HISTORIES=tests/histories/$(HISTORIES_VERSION) $(BIN)/pytest -q tests/test_end_to_end.py \
		tests/test_end_to_end_around_the_stages.py tests/test_deadlines.py tests/test_deadlines_around_the_stages.py tests/test_reports.py \
		tests/test_merging_end_to_end.py tests/test_merging_deadlines.py tests/test_end_to_end_follow_up.py \
		tests/test_follow_up_window.py tests/test_photos_end_to_end.py
