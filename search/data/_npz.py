"""A user's dataset as one .npz with x_train, y_train, x_val, y_val, x_test, y_test arrays."""

from pathlib import Path

import numpy as np

from search.data._splits import ArrayDataset, DatasetError, Split

KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def load_npz_dataset(path: str | Path, name: str = "user") -> ArrayDataset:
    """Load without pickle (allow_pickle=False): object arrays are refused."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in KEYS if k not in f]
            if missing:
                raise DatasetError(f"{path}: missing arrays {missing} (needs {KEYS})")
            arrays = {k: f[k] for k in KEYS}
    except (OSError, ValueError) as err:
        if isinstance(err, DatasetError):
            raise
        raise DatasetError(f"{path}: not a readable .npz without pickles ({err})") from err
    for split in ("train", "val", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DatasetError(f"{path}: x_{split} has {len(x)} rows, y_{split} has {len(y)}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{path}: y_{split} must hold integer class labels")

    def split(s: str) -> Split:
        return Split(arrays[f"x_{s}"].astype(np.float32), arrays[f"y_{s}"].astype(np.int64))

    num_classes = int(max(arrays["y_train"].max(), arrays["y_val"].max())) + 1
    return ArrayDataset(name, split("train"), split("val"), split("test"), num_classes)
