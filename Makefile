# Deep Learning Practice — one command each:
#   make test     set up .venv, then run the unit tests and every notebook
#   make course   set up .venv, then execute every notebook and print the results table
#   make lab      set up .venv, then open JupyterLab at the course
#   make browser  install Debian's chromium for the digit-recognizer app's browser test
# Set-up runs again only when a requirements file changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)
CHROMIUM ?= /usr/bin/chromium
# Jupyter refuses to run as root (containers) unless told to.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup browser test course results lab lint exercises stamp lock clean help
.DEFAULT_GOAL := help

help:
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

$(STAMP): requirements.txt requirements-data.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt -c constraints.txt
	$(PIP) install --quiet --no-deps -r requirements-data.txt
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install everything (quick when nothing changed)

browser: ## install Debian's chromium (the app's browser test drives it; needs root or sudo)
	@test -x $(CHROMIUM) && echo "chromium is installed: $(CHROMIUM)" || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

test: setup ## run the unit tests and execute every notebook (nbval, both cores)
	$(PY) -m pytest

course: setup ## execute every notebook with the runner and print the results table
	$(PY) -m utils.course

results: setup ## like `course`, three runs each, and write the median times into README.md
	$(PY) -m utils.course --repeat 3 --update-readme

lab: setup ## open JupyterLab at the course
	$(VENV)/bin/jupyter lab $(LAB_ARGS)

lint: setup ## check the code and notebooks with ruff
	$(PY) -m ruff check .

exercises: setup ## regenerate the student notebooks from the solution notebooks
	$(PY) -m utils.exercises

stamp: setup ## stamp the Colab badge and setup cell into every notebook
	$(PY) -m utils.colab

lock: setup ## rewrite constraints.txt from what .venv has installed
	$(PIP) freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean: ## remove .venv and artifacts/
	rm -rf $(VENV) artifacts
