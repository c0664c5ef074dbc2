# The two commands of the quick start: `make demo` and `make test`.
# They need only Python >= 3.11 and make: uv is installed into .tools/ when it is not on PATH.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
# Bytecode compiled at install: `import dagster` costs 1.8 s per start without it.
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test reliability lint format sync bench bench-emulators bench-run bench-webhooks

demo: sync
	$(UV) run --no-sync huma-entra-sync demo

# Tests run on every core (`TEST_WORKERS=0` runs them in this process) in a random order that the
# header's `--randomly-seed=N` reproduces; a test file stays on one worker, so its module-scoped
# emulators start once.
TEST_WORKERS ?= auto
test: lint
	$(UV) run --no-sync pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The fault matrix (tests/reliability), its long cases included; prints one table of the cases.
reliability: sync
	$(UV) run --no-sync pytest tests/reliability -m "" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

format: sync
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

sync: $(UV)
	$(UV) sync --frozen

# Benchmarks print tables; they take minutes and are not part of CI.
bench: sync
	$(UV) run --no-sync python -m benchmarks.engine
	$(UV) run --no-sync python -m benchmarks.snapshots
	$(UV) run --no-sync python -m benchmarks.huma_wire
	$(UV) run --no-sync python -m benchmarks.huma_concurrency
	$(UV) run --no-sync python -m benchmarks.graph_writes
	$(UV) run --no-sync python -m benchmarks.history

# The whole run, stage by stage, beside the I/O floor: `make bench-run SIZE=1000000` for one size.
SIZE ?= 10000 100000
bench-run: sync
	$(UV) run --no-sync python -m benchmarks.whole_run --users $(SIZE)

bench-emulators: sync
	$(UV) run --no-sync python -m benchmarks.emulators_huma
	$(UV) run --no-sync python -m benchmarks.emulators_graph

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

# Latency from a change in Huma to the Graph write through a webhook event and a targeted run.
bench-webhooks: sync
	$(UV) run --no-sync python -m benchmarks.webhook_latency
