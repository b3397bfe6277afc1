"""Unit-test setup: the same seed before every test."""

import keras
import pytest


@pytest.fixture(autouse=True)
def _fixed_seed():
    keras.utils.set_random_seed(0)
