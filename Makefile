# molprobe: `make run` runs the default workflow, `make test` runs the tests.
# Both create .venv and install the package when needed.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
CORES ?= 2
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# Datasets are read from a local mirror when one sits beside the checkout.
MOLPROBE_MIRROR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export MOLPROBE_MIRROR
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default

.PHONY: install run report test test-fast test-cluster lint format bench bench-train dry-run clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install  ## run the default workflow (config/config.yaml)
	$(SNAKEMAKE)

dry-run: install
	$(SNAKEMAKE) -n

report: install  ## build results/report.html from the last run
	$(SNAKEMAKE) --report results/report.html

test: install  ## unit tests + end-to-end Snakemake runs on a small subsample + the report in Chromium
	bash scripts/install_chromium.sh
	$(BIN)/pytest -q -m "not cluster"

test-cluster: install  ## the workflow through a real single-node SLURM on localhost (root; installs slurm-wlm + munge)
	MOLPROBE_REQUIRE_SLURM=1 $(BIN)/pytest -q -m cluster tests/cluster

test-fast: install
	$(BIN)/pytest -q -m "not slow and not cluster"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint

format: install
	$(BIN)/snakefmt Snakefile workflow
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install  ## speed benchmarks (ratios against baselines measured in the same run)
	$(BIN)/python benchmarks/bench_featurize.py
	$(BIN)/python benchmarks/bench_concepts.py
	$(BIN)/python benchmarks/bench_screen.py

bench-train: install  ## accuracy and seconds/epoch of every model family on Tox21 (long)
	$(BIN)/python benchmarks/bench_train.py

clean:
	rm -rf results .snakemake
