# The two commands a fresh clone needs: `make run` and `make test`.
# Everything is installed into the repository itself (.tools for uv, .venv for the project).
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced-stamp
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: install run test lint bench bench-users bench-scale bench-dashboards reliability check-fresh clean messages

install: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet
	touch $(STAMP)

uv.lock: pyproject.toml | $(UV)
	$(UV) lock --python $(PYTHON)

run: $(STAMP)
	$(VENV)/bin/onestop serve $(if $(SIMULATE),--simulate)

# Every test on the embedded default (SQLite); then, where a PostgreSQL server answers (CI,
# or ONESTOP_TEST_POSTGRES_URL), the database tests again on PostgreSQL.
PG_URL ?= $(or $(ONESTOP_TEST_POSTGRES_URL),postgres://postgres@127.0.0.1:5432/postgres)
test: $(STAMP)
	$(VENV)/bin/python -m pytest
	@if $(VENV)/bin/python -m onestop.ops.pgcheck "$(PG_URL)"; then \
	  echo "== database tests on PostgreSQL =="; \
	  DATABASE_URL="$(PG_URL)" $(VENV)/bin/python -m pytest -m django_db; \
	else echo "== PostgreSQL not reachable: database tests ran on SQLite only =="; \
	  if [ -n "$$CI" ]; then exit 1; fi; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check onestop tests scripts conftest.py manage.py
	$(VENV)/bin/ruff format --check onestop tests scripts conftest.py manage.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Micro benchmarks of the domain cores, then the end-to-end benchmark on PostgreSQL (web,
# workers, simulated departments; skipped with a message where PG_URL does not answer).
# `make bench E2E=0`: micro benchmarks only. Figures and method: docs/performance.md.
E2E ?= 1
BENCH_CASES ?= 200
BENCH_WORKERS ?= 2
BENCH_CLIENTS ?= 4
BENCH_ARGS ?=
bench: $(STAMP)
	$(VENV)/bin/python -m onestop.bench
	@if [ "$(E2E)" != "0" ]; then \
	  $(VENV)/bin/python -m onestop.ops.bench_e2e --postgres "$(PG_URL)" \
	    --cases $(BENCH_CASES) --workers $(BENCH_WORKERS) --clients $(BENCH_CLIENTS) \
	    --write docs/performance.md $(BENCH_ARGS); fi

# 1,000 concurrent users with locust (issue 10, part 3): parents, officers, the public and
# department systems against the web tier on PostgreSQL (skipped where PG_URL does not
# answer). Figures and method: docs/performance.md, "1,000 users".
BENCH_USERS ?= 1000
BENCH_USERS_SECONDS ?= 120
BENCH_USERS_ARGS ?=
bench-users: $(STAMP)
	$(VENV)/bin/python -m onestop.ops.bench_users --postgres "$(PG_URL)" \
	  --users $(BENCH_USERS) --duration $(BENCH_USERS_SECONDS) \
	  --write docs/performance.md $(BENCH_USERS_ARGS)

# The scale benchmark (issue 10, part 4): databases of SCALE_SIZES generated cases
# (`onestop gen-cases`, PostgreSQL COPY; dropped afterwards unless SCALE_ARGS=--keep), the
# lookups people and systems make measured through the product's views; results in the
# "Scale" block of docs/performance.md. 1 M cases take ~53 GB of disk and about an hour.
SCALE_SIZES ?= 1000000,10000000
SCALE_ARGS ?=
bench-scale: $(STAMP)
	$(VENV)/bin/python -m onestop.ops.bench_scale --postgres "$(PG_URL)" \
	  --sizes $(SCALE_SIZES) --write docs/performance.md $(SCALE_ARGS)

# The supervisors' dashboards (issue 12 part 4, ADR 0041) on DASH_SIZES generated cases:
# the roll-up jobs caught up, then the dashboards page (month, year) and a year's Excel
# export measured through the product's views (target < 500 ms at 1 M cases). Results in
# the "Dashboards" block of docs/performance.md.
DASH_SIZES ?= 1000000
DASH_ARGS ?=
bench-dashboards: $(STAMP)
	$(VENV)/bin/python -m onestop.ops.bench_scale --dashboards --postgres "$(PG_URL)" \
	  --sizes $(DASH_SIZES) --write docs/performance.md $(DASH_ARGS)

# Attack and fault tests, and a table of what they tried and what got through (SQLite, then
# PostgreSQL where it answers). The latest figures are kept in docs/security.md.
reliability: $(STAMP)
	$(VENV)/bin/python -m onestop.ops.reliability --postgres "$(PG_URL)"

# English translations: collect new source strings, translate them in
# onestop/locale/en/LC_MESSAGES/django.po, then compile (the .mo is committed).
messages: $(STAMP)
	cd onestop && ../$(VENV)/bin/python -m django makemessages -l en --settings=onestop.config.settings
	cd onestop && ../$(VENV)/bin/python -m django compilemessages -l en --settings=onestop.config.settings

check-fresh:
	rm -rf /tmp/onestop-fresh && git clone -q . /tmp/onestop-fresh && $(MAKE) -C /tmp/onestop-fresh test

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache
