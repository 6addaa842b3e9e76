"""Small generated files in the schemas real users bring (IDX, JSC CSV/parquet, .npz)."""

import gzip
from pathlib import Path

import numpy as np

from search.data import JSC_FEATURES


def write_idx(path: Path, array: np.ndarray) -> None:
    magic = 2049 if array.ndim == 1 else 2051
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(directory: Path, n_train: int = 5100, n_test: int = 50) -> None:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    write_idx(directory / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(directory / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(directory / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, n_test))


def jsc_columns(n: int = 200) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    columns = {name: rng.normal(size=n) * (i + 1) for i, name in enumerate(JSC_FEATURES)}
    columns["class"] = rng.integers(0, 5, n)
    return columns


def write_jsc_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    names = list(columns)
    rows = np.stack([columns[n].astype(float) for n in names], axis=1)
    np.savetxt(path, rows, delimiter=",", header=",".join(names), comments="")
