# molprobe: `make quick` runs every stage on a subsample (minutes), `make run` the default
# workflow (hours), `make test` the tests. All create .venv and install the package when needed.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
CORES ?= 2
# pytest-xdist workers of `make test` (0: one process)
TEST_WORKERS ?= 2
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# Datasets are read from a local mirror when one sits beside the checkout.
MOLPROBE_MIRROR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export MOLPROBE_MIRROR
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default

.PHONY: install check-python quick run report test test-fast test-cluster lint format bench bench-train dry-run clean

# Snakemake 9 needs Python >= 3.11: say so in one line instead of a pip resolver error.
# The interpreter checked is the venv's when there is one, else $(PYTHON).
define check_python
	@py=$$(test -x $(BIN)/python && echo $(BIN)/python || echo $(PYTHON)); \
	$$py -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	echo "molprobe needs Python >= 3.11 (Snakemake 9 does), but $$py is $$($$py --version 2>/dev/null || echo 'not found'); run make with PYTHON=python3.11 (or newer)"; \
	exit 1; }
endef

check-python:
	$(check_python)

$(VENV)/.installed: pyproject.toml
	$(check_python)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

quick: install  ## every stage on a subsample, one seed (config/quick.yaml), then results/report.html
	$(SNAKEMAKE) --configfile config/quick.yaml
	$(SNAKEMAKE) --configfile config/quick.yaml --report results/report.html

run: install  ## run the default workflow (config/config.yaml)
	$(SNAKEMAKE)

dry-run: install
	$(SNAKEMAKE) -n

report: install  ## build results/report.html from the last run
	$(SNAKEMAKE) --report results/report.html

test: install  ## unit tests + end-to-end Snakemake runs on a small subsample + the report in Chromium
	bash scripts/install_chromium.sh
	$(BIN)/pytest -q -m "not cluster" -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

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
	$(BIN)/python benchmarks/bench_alerts.py
	$(BIN)/python benchmarks/bench_descriptors.py
	$(BIN)/python benchmarks/bench_fast_models.py
	$(BIN)/python benchmarks/bench_library.py --n 200000  # 10^6: --n 1000000 (README table)

bench-train: install  ## accuracy and seconds/epoch of every model family on Tox21 (long)
	$(BIN)/python benchmarks/bench_train.py

clean:
	rm -rf results .snakemake
