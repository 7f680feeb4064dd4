# `make run` and `make test` work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MODELS ?= models
CORPUS ?= data/sample/articles.jsonl
PORT ?= 8000

.PHONY: run test lint bench venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

run: venv
	@if [ ! -s "$(MODELS)/CURRENT" ]; then \
	  echo "No published model in $(MODELS): training on $(CORPUS)"; \
	  $(VENV)/bin/recommender train --corpus $(CORPUS) --models $(MODELS); fi
	@echo ""
	@echo "Open the demo: http://127.0.0.1:$(PORT)/demo"
	@echo "(the service answers on http://127.0.0.1:$(PORT)/, e.g. /v1/model and /healthz)"
	@echo ""
	$(VENV)/bin/recommender serve --models $(MODELS) --bind 127.0.0.1:$(PORT)

test: venv
	$(VENV)/bin/ruff check recommender tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy recommender
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check recommender tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
