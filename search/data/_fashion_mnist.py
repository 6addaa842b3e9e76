"""Fashion-MNIST from local IDX files (never downloaded).

Looked up, in order: $HWSEARCH_DATA/fashion-mnist, $HWSEARCH_DATA, the Debian package
`dataset-fashion-mnist`, and `../shared/data/fashion_mnist` beside the repository.
"""

import gzip
import os
from pathlib import Path

import numpy as np

from search.data._splits import ArrayDataset, DatasetError, Split, split_off_validation

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
N_VAL = 5000


def fashion_mnist_search_paths() -> list[Path]:
    paths = []
    if root := os.environ.get("HWSEARCH_DATA"):
        paths += [Path(root) / "fashion-mnist", Path(root)]
    repo_root = Path(__file__).resolve().parents[2]
    paths += [
        Path("/usr/share/datasets/fashion-mnist"),
        repo_root.parent / "shared" / "data" / "fashion_mnist",
    ]
    return paths


def _find(stem: str, directory: Path) -> Path | None:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic 2049 labels or 2051 images, big endian."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic not in (2049, 2051):
        raise DatasetError(f"{path}: not an IDX label/image file (magic {magic})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: truncated, expected {dims} values")
    return array.reshape(dims)


def load_fashion_mnist() -> ArrayDataset:
    searched = fashion_mnist_search_paths()
    for directory in searched:
        found = {key: _find(stem, directory) for key, stem in FILES.items()}
        if all(found.values()):
            break
    else:
        tried = "\n  ".join(str(p) for p in searched)
        raise DatasetError(
            "Fashion-MNIST IDX files not found; looked in:\n  "
            + tried
            + "\nInstall the Debian package dataset-fashion-mnist or set HWSEARCH_DATA."
        )
    train_x = read_idx(found["train_images"])[:, None].astype(np.float32) / 255.0
    test_x = read_idx(found["test_images"])[:, None].astype(np.float32) / 255.0
    train_y = read_idx(found["train_labels"]).astype(np.int64)
    test_y = read_idx(found["test_labels"]).astype(np.int64)
    train, val = split_off_validation(train_x, train_y, N_VAL)
    return ArrayDataset("fashion-mnist", train, val, Split(test_x, test_y), num_classes=10)
