# The two set-up commands from the README:
#   make main   installs everything and runs the main job on defaults
#   make test   installs everything the tests need and runs the whole suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGMINE := $(BIN)/argmine
REFERENCE ?= examples/caravan-to-nowhere.txt
OUT ?= out

.PHONY: install main test lint format studio-deps browser-deps

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The main job on defaults: rule pre-labels of the reference article and the examples, a
# model (units + relations) fine-tuned on the starter annotations (models/default/), its
# evaluation beside the rules on the held-out starter pieces and on the reference article (left
# out of training), and an HTML report with argument maps of the reference article and the
# examples tagged by it.
main: install
	mkdir -p $(OUT)
	$(ARGMINE) prelabel $(REFERENCE) examples/ --output $(OUT)/prelabel.jsonl --force
	$(ARGMINE) train configs/default.yaml --force
	$(ARGMINE) evaluate models/default models/default/test.jsonl --output $(OUT)/default-eval.json --force
	$(ARGMINE) evaluate models/default annotations/caravan-to-nowhere.json --output $(OUT)/reference-eval.json --force
	$(ARGMINE) tag $(REFERENCE) examples/ --model models/default --format html --output $(OUT)/report.html --force
	@echo "main job done: pre-labels, evaluation and report.html in $(OUT)/, model in models/default/"

# Label Studio (its own venv) for the studio tests.
studio-deps: install
	$(ARGMINE) studio install

# Debian's Chromium for the browser tests, and Graphviz so the report's dot layout is tested too
# (without dot the argument map falls back to the networkx layout and those tests skip).
browser-deps:
	missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install studio-deps browser-deps lint
	$(BIN)/pytest
