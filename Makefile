# Two commands on a fresh machine: `make labs` and `make test`.
# Each creates .venv when missing and installs the toolkit into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BACKENDS := $(VENV)/.backends
# Layer and helper tests that also run under the JAX and PyTorch backends.
BACKEND_TESTS := $(wildcard tests/test_dropout.py tests/test_stochastic_depth.py \
	tests/test_normalization.py tests/test_augmentation.py tests/test_augment.py \
	tests/test_tta.py tests/test_whitening.py tests/test_inference.py tests/test_transfer.py \
	tests/test_callbacks.py tests/test_curves.py tests/test_models.py \
	tests/test_tuning.py tests/test_preprocessing.py tests/test_initialization.py)

.PHONY: labs lectures test benchmarks clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

$(BACKENDS): requirements-backends.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-backends.txt
	touch $(BACKENDS)

labs: $(STAMP)
	$(PY) -m kerasreg labs

lectures: $(STAMP)
	$(PY) -m kerasreg lectures

test: $(STAMP) $(BACKENDS)
	$(PY) -m pytest
	for backend in jax torch; do \
		KERAS_BACKEND=$$backend $(PY) -m pytest -q $(BACKEND_TESTS) || exit 1; \
	done

benchmarks: $(STAMP)
	cd benchmarks && for script in bench_*.py; do ../$(PY) $$script || exit 1; done

clean:
	rm -rf build .pytest_cache
