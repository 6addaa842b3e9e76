"""Tiny Shakespeare (public domain), shipped with the package: the nanoGPT char corpus."""

from pathlib import Path

import numpy as np

from search.data._splits import TextDataset

TEXT_PATH = Path(__file__).with_name("tiny_shakespeare.txt")


def load_tiny_shakespeare() -> TextDataset:
    """First 90% train, then 5% validation and 5% test (nanoGPT's 90/10 with val halved)."""
    text = TEXT_PATH.read_text()
    chars = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    n_train, n_val = int(0.9 * len(ids)), int(0.05 * len(ids))
    return TextDataset(
        "tiny-shakespeare",
        ids[:n_train],
        ids[n_train : n_train + n_val],
        ids[n_train + n_val :],
        chars,
    )
