"""Offline datasets with fixed, seeded train/validation/test splits.

Every loader returns arrays only (numpy), so `hw_models`-style consumers and torch code can
share them. Nothing is downloaded: files come from packages, the repository, or a path the
user names.
"""

from collections.abc import Callable
from pathlib import Path

from search.data._digits import load_digits
from search.data._fashion_mnist import fashion_mnist_search_paths, load_fashion_mnist
from search.data._jsc import JSC_FEATURES, load_jsc
from search.data._npz import load_npz_dataset
from search.data._shakespeare import load_tiny_shakespeare
from search.data._splits import ArrayDataset, DatasetError, Split, TextDataset

DATASETS: dict[str, Callable[..., ArrayDataset | TextDataset]] = {
    "digits": load_digits,
    "fashion-mnist": load_fashion_mnist,
    "jsc": load_jsc,
    "tiny-shakespeare": load_tiny_shakespeare,
}
FILE_DATASETS = ("jsc",)  # read from the user's file only (no offline copy exists)


def load_dataset(name: str, path: str | Path | None = None) -> ArrayDataset | TextDataset:
    """Load a dataset by registry name; `path` is the user's file for `jsc` (or an .npz)."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    if name == "jsc":
        if path is None:
            raise DatasetError("dataset 'jsc' needs a file: pass the path to the CSV or parquet")
        return load_jsc(path)
    return DATASETS[name]()


__all__ = [
    "DATASETS",
    "FILE_DATASETS",
    "JSC_FEATURES",
    "ArrayDataset",
    "DatasetError",
    "Split",
    "TextDataset",
    "fashion_mnist_search_paths",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_jsc",
    "load_npz_dataset",
    "load_tiny_shakespeare",
]
