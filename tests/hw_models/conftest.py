"""Fixtures for the hw_models tests."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator, so every test is reproducible on its own."""
    return np.random.default_rng(1234)
