# Two commands on a fresh machine: `make labs` and `make test`.
# Each creates .venv when missing and installs the toolkit into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: labs lectures test benchmarks clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

labs: $(STAMP)
	$(PY) -m kerasreg labs

lectures: $(STAMP)
	$(PY) -m kerasreg lectures

test: $(STAMP)
	$(PY) -m pytest

benchmarks: $(STAMP)
	cd benchmarks && for script in bench_*.py; do ../$(PY) $$script || exit 1; done

clean:
	rm -rf build .pytest_cache
