# kfp-mlops developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run test test-all bench publish clean mlflow-server

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

run: $(BIN)/python  ## install the package and run the local training pipeline on the bundled data
	$(BIN)/python -m pip install -q -e ".[serve]"
	$(BIN)/kfp-mlops run training

# The MLflow server the registry tests start needs the full mlflow package, whose pins clash with ours
# (pyarrow<26): it lives in its own venv. Without it, the MLflow registry tests skip with the reason.
MLFLOW_VENV := $(VENV)/mlflow-server

$(MLFLOW_VENV)/bin/mlflow:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install -q "mlflow==3.17.2" || echo "warning: mlflow could not be installed; the MLflow registry tests will skip"

mlflow-server: $(MLFLOW_VENV)/bin/mlflow  ## a venv with the MLflow tracking server, for the MLflow registry tests

test: $(BIN)/python $(MLFLOW_VENV)/bin/mlflow  ## install the test dependencies and run the default test suite
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pytest

test-all: $(BIN)/python $(MLFLOW_VENV)/bin/mlflow  ## the suite including slow end-to-end tests
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m pytest -m ""

bench: $(BIN)/python  ## run every benchmark (fast sizes)
	$(BIN)/python -m pip install -q -e ".[dev]"
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

publish: $(BIN)/python  ## recompile the published component YAMLs (checked by a golden test)
	$(BIN)/python -c 'from kfp_mlops.pipelines.catalog import publish_component_yamls as p; [print(x) for x in p()]'

clean:  ## remove local runs, registry and build output
	rm -rf .kfp-mlops build dist *.egg-info
