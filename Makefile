# One place for every developer command. CI (.ci/run) calls `scripts/setup.sh` then `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTEST  := $(PY) -m pytest
CARGO   ?= cargo

.PHONY: setup build build-release wheels wheel-smoke docs format lint test-rust test-python test bench fuzz fuzz-smoke fuzz-e2e janus-up janus-down

setup:
	bash scripts/setup.sh

build:
	$(VENV)/bin/maturin develop -q

build-release:
	$(VENV)/bin/maturin develop --release -q

# A release wheel per supported CPython found (pyenv or pythonX.Y on PATH) and an sdist, in dist/.
wheels:
	MATURIN=$(VENV)/bin/maturin bash scripts/build_wheels.sh

# Each wheel in a fresh virtualenv (no Rust on PATH, run outside the repo) against a real Janus,
# the versions side by side (WHEEL_SMOKE_JOBS at a time, default 4); a supported CPython that is
# missing fails it.
wheel-smoke: wheels
	bash scripts/wheel_smoke.sh

format:
	$(CARGO) fmt --all
	$(PY) -m ruff format python tests benches
	$(PY) -m ruff check --fix python tests benches

# stubtest checks python/janus_fast/_core.pyi against the built extension (`make build` first).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PY) -m ruff format --check python tests benches
	$(PY) -m ruff check python tests benches
	$(PY) -m mypy --strict python/janus_fast
	$(PY) -m mypy.stubtest janus_fast._core

test-rust:
	$(CARGO) test -p janus_proto

# tests/ plus one quick smoke run of every macro benchmark workload (not for timing: pytest-benchmark
# is off); the 25 slowest test phases are listed at the end. PYTEST_WORKERS=2 runs it on two
# pytest-xdist workers (--dist loadfile: each test file on one worker, so a module's servers start
# once; the tests mostly wait on Janus, brokers and media): 11.0 -> 5.0 minutes on a busy 2-core
# machine, but a few tests still fail only that way, so the default is one process.
PYTEST_WORKERS ?= 0
test-python:
	$(PYTEST) tests benches/test_macro.py -n $(PYTEST_WORKERS) --dist loadfile --benchmark-disable --durations=25

# The README's test command: lint, the documentation site (strict), Rust tests, a bounded fuzz
# run of the core, Python tests (both event loops in one run), then the wheels smoke-tested on
# every supported CPython.
test: lint docs test-rust fuzz-smoke test-python wheel-smoke

# The documentation site (mkdocs.yml, docs/) in --strict mode: any warning fails it. Output: site/.
docs:
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir site

bench:
	$(PYTEST) benches --benchmark-only --benchmark-columns=min,mean,median,ops -p no:cacheprovider

fuzz:
	JANUS_FUZZ_SECONDS=$${JANUS_FUZZ_SECONDS:-60} $(CARGO) test -p janus_proto --release --test fuzz_bounded -- --ignored fuzz

# The fuzz targets for a bounded time in every CI run (each target JANUS_FUZZ_SECONDS), the three
# targets at once: 30 s of wall time instead of 60 s with the test harness's two threads.
fuzz-smoke:
	JANUS_FUZZ_SECONDS=$${JANUS_FUZZ_SECONDS:-30} $(CARGO) test -p janus_proto --release --test fuzz_bounded -- --ignored fuzz --test-threads 3

# The end-to-end fuzzer (tests/fuzz_e2e) for longer than its ~60 s share of `make test`:
# JANUS_FUZZ_E2E_SECONDS in total (default 600), split between the transports (WebSocket, HTTP,
# both Unix-socket modes, Nanomsg, MQTT) and asyncio/uvloop;
# JANUS_FUZZ_E2E_SEED to replay a run.
fuzz-e2e:
	JANUS_FUZZ_E2E_SECONDS=$${JANUS_FUZZ_E2E_SECONDS:-600} $(PYTEST) tests/fuzz_e2e -o timeout=0 -p no:cacheprovider

janus-up:
	$(PY) -m janus_fast.testing up

janus-down:
	$(PY) -m janus_fast.testing down
