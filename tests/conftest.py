"""Shared fixtures: deterministic torch, and the shipped zoo models with their data."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def digits():
    from search.data import load_digits

    return load_digits()


@pytest.fixture(scope="session")
def digits_mlp():
    from search.models import load_pretrained

    return load_pretrained("digits-mlp")


@pytest.fixture(scope="session")
def digits_cnn():
    from search.models import load_pretrained

    return load_pretrained("digits-cnn")
