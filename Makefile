# Two commands set up a fresh machine (Python 3.11 is all it needs):
#   make build   create .venv, install pinned deps, make demo data if none, land, dbt build
#   make test    lint + pytest (unit, generator, landing, end-to-end dbt builds, Online Retail,
#                the Spark build against the DuckDB build)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LANDING ?= data/landing
CHROMIUM ?= /usr/bin/chromium
REPORT ?= reports/segment_report.html
DEMO_ARGS ?= --customers 2000 --days 365 --seed 42

.PHONY: install spark-install spark-build test-spark build demo-data land dbt-build test lint docs report browser bench profile clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# the Spark target (dbt-spark + pyspark; Java 17+ from the machine)
SPARK_STAMP := $(VENV)/.spark-installed-stamp
$(SPARK_STAMP): requirements-spark.lock $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-spark.lock
	touch $(SPARK_STAMP)

spark-install: $(SPARK_STAMP)
	@command -v java >/dev/null 2>&1 || { echo "Spark needs Java 17+ on PATH"; exit 1; }

# the whole project on local Spark (CS_SPARK_WAREHOUSE, default spark-warehouse/)
spark-build: spark-install demo-data
	$(BIN)/cseg spark-build --landing-dir $(LANDING)

# the Spark build compared with the DuckDB build (also part of make test)
test-spark: spark-install
	$(BIN)/pytest tests/python/test_spark.py

demo-data: install
	@if ls $(LANDING)/orders/* >/dev/null 2>&1; then \
		echo "landing zone $(LANDING) has orders: using it"; \
	else \
		$(BIN)/cseg generate $(DEMO_ARGS) --out $(LANDING) --quiet; \
	fi

land: install
	$(BIN)/cseg land --landing-dir $(LANDING)

dbt-build: install
	$(BIN)/dbt build
	@# stale sources are reported here and enforced by the export gate (cseg export)
	$(BIN)/dbt source freshness || echo "WARNING: source freshness failed: cseg export will refuse until fresh data is landed"

build: demo-data land dbt-build

lint: install
	$(BIN)/ruff check src tests python_models benchmarks

test: install spark-install lint browser
	$(BIN)/pytest

# Debian's Chromium for the browser tests (report and dbt docs), pinned; Debian drops
# superseded builds from its mirror, so a missing pin falls back to the current build,
# loudly. Needs root (CI and these machines run as root) or an installed chromium.
CHROMIUM_VERSION ?= 150.0.7871.100-1~deb12u1
browser:
	@if command -v $(CHROMIUM) >/dev/null 2>&1; then \
		echo "chromium: $$($(CHROMIUM) --version 2>/dev/null)"; \
	else \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends chromium=$(CHROMIUM_VERSION) \
		|| { apt-get update && apt-get install -y --no-install-recommends \
		     chromium=$(CHROMIUM_VERSION); } \
		|| { echo "WARNING: chromium $(CHROMIUM_VERSION) is no longer on the mirror;" \
		          "installing the current Debian build"; \
		     apt-get install -y --no-install-recommends chromium; }; \
	fi

# make bench SIZES=1M,10M   (100M on demand: SIZES=100M; about 2 hours and 40 GB of disk)
SIZES ?= 1M,10M
BENCH_ARGS ?=
# BENCH_ARGS passes options, e.g. BENCH_ARGS=--builds-only (time the bare query, land
# and the builds; reuse the newest capped/pandas measurements of the same size)
bench: install
	$(BIN)/python benchmarks/bench.py --sizes $(SIZES) $(BENCH_ARGS)

# make profile MODEL=int_customer_activity_daily [DB=benchmarks/data/100M/run/warehouse.duckdb]
# the CPU of one SQL model's full-refresh build, per DuckDB operator (benchmarks/profile_model.py)
MODEL ?=
DB ?= warehouse.duckdb
PROFILE_ARGS ?=
profile: install
	@test -n "$(MODEL)" || { echo 'usage: make profile MODEL=<sql model> [DB=<warehouse.duckdb>]'; exit 2; }
	$(BIN)/python benchmarks/profile_model.py --model $(MODEL) --db $(DB) $(PROFILE_ARGS)

# dbt docs for the built warehouse; open with `.venv/bin/dbt docs serve` (port 8080)
docs: install
	$(BIN)/dbt docs generate

# the static HTML segment report (works offline; open it in any browser)
report: install
	$(BIN)/cseg report --out $(REPORT)

clean:
	rm -rf target logs warehouse.duckdb warehouse.duckdb.wal warehouse_landed .duckdb_tmp
