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
	tests/test_tuning.py tests/test_preprocessing.py tests/test_initialization.py \
	tests/test_auto_augment.py tests/test_public_layers.py tests/test_bad_inputs.py \
	tests/test_batches.py tests/test_layer_search.py tests/test_snapshot.py)

# The floor: every dependency at the lowest version requirements.txt allows
# (requirements-floor.txt), in a second environment inside .venv, for these tests.
FLOOR := $(VENV)/floor
FLOOR_PY := $(FLOOR)/bin/python
FLOOR_STAMP := $(FLOOR)/.installed
FLOOR_TESTS := tests/test_dropout.py tests/test_stochastic_depth.py tests/test_normalization.py \
	tests/test_augmentation.py tests/test_augment.py tests/test_callbacks.py

.PHONY: labs lectures test floor benchmarks clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $(STAMP)

$(BACKENDS): requirements-backends.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-backends.txt
	touch $(BACKENDS)

$(FLOOR_STAMP): requirements-floor.txt pyproject.toml | $(PY)
	$(PYTHON) -m venv $(FLOOR)
	$(FLOOR_PY) -m pip install --quiet -r requirements-floor.txt
	$(FLOOR_PY) -m pip install --quiet --no-deps -e .
	touch $(FLOOR_STAMP)

labs: $(STAMP)
	$(PY) -m kerasreg labs

lectures: $(STAMP)
	$(PY) -m kerasreg lectures

test: $(STAMP) $(BACKENDS) $(FLOOR_STAMP)
	$(PY) -m pytest
	for backend in jax torch; do \
		KERAS_BACKEND=$$backend $(PY) -m pytest -q $(BACKEND_TESTS) || exit 1; \
	done
	$(MAKE) floor

# The layer, augmentation and callback tests on the floor versions (no nbval there).
floor: $(FLOOR_STAMP)
	$(FLOOR_PY) -m pytest -q -p no:cacheprovider -o addopts= $(FLOOR_TESTS)

benchmarks: $(STAMP)
	cd benchmarks && for script in bench_*.py; do ../$(PY) $$script || exit 1; done

clean:
	rm -rf build .pytest_cache
