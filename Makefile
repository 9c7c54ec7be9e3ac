# The one place where commands are written out. `make help` lists them.
# The two that matter on a fresh machine: `make serve` (run the gateway) and `make test` (pass all tests).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install build-dev build-prod serve test test-rust test-python tools bench bench-quick lint format

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip "maturin>=1.9.4,<2"

install: $(BIN)/python ## create .venv with the runtime and test dependencies
	@true

build-dev: install ## debug build of the extension into .venv (fast to compile)
	$(BIN)/maturin develop -q -E test

build-prod: install ## release build of the extension into .venv (what serve, test and bench use)
	$(BIN)/maturin develop -q --release -E test

serve: build-prod ## run the gateway on 127.0.0.1:8000 with the embedded SQLite store
	$(BIN)/ocpi-gateway serve

tools: ## make sure redis-server (Redis-backed tests) and wrk (load benchmarks) are installed, from Debian
	@if ! command -v redis-server >/dev/null || ! command -v wrk >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server wrk >/dev/null; fi
	@command -v redis-server >/dev/null && command -v wrk >/dev/null

test-rust: install ## Rust unit tests of the domain code
	cargo test --workspace --quiet

test-python: build-prod tools ## Python tests (unit, API, real Redis, end-to-end), every benchmark once, the stub check
	$(BIN)/python -m pytest -q
	$(BIN)/python -m mypy.stubtest gateway._core --allowlist .mypy-stubtest-allowlist

test: test-rust test-python ## everything: Rust and Python tests, benchmarks in quick mode

bench: build-prod tools ## timed micro benchmarks and load benchmarks; prints tables of ratios
	$(BIN)/python -m benchmarks run

bench-quick: build-prod tools ## every benchmark once with tiny sizes (what CI runs)
	$(BIN)/python -m benchmarks run --quick

lint: install ## ruff, mypy and clippy
	$(BIN)/pip install -q -e . --no-deps >/dev/null 2>&1 || true
	$(BIN)/pip install -q "ruff==0.17.6" mypy
	$(BIN)/ruff check gateway tests benchmarks
	cargo clippy --all-targets -- -D warnings

format: ## ruff format and rustfmt
	$(BIN)/ruff format gateway tests benchmarks
	cargo fmt --all
