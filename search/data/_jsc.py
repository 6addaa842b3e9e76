"""LHC jet-substructure classification (hls4ml's JSC benchmark) from a user-supplied file.

No copy ships offline. Accepted: CSV (header row) or parquet with the 16 hls4ml features and
either a `class` column (0..4 or the names below) or five one-hot columns named after classes.
Features are standardised with training-split statistics.
"""

from pathlib import Path

import numpy as np

from search.data._splits import ArrayDataset, DatasetError, Split, split_three_ways

JSC_FEATURES = (
    "j_zlogz", "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt", "j_c2_b1_mmdt", "j_c2_b2_mmdt",
    "j_d2_b1_mmdt", "j_d2_b2_mmdt", "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt", "j_m2_b1_mmdt",
    "j_m2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_mass_mmdt", "j_multiplicity",
)  # fmt: skip
JSC_CLASSES = ("j_g", "j_q", "j_w", "j_z", "j_t")


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise DatasetError(
                f"{path}: reading parquet needs pyarrow (pip install pyarrow)"
            ) from err
        table = pq.read_table(path)
        return {name: table.column(name).to_numpy() for name in table.column_names}
    if path.suffix == ".csv":
        with path.open() as f:
            header = [h.strip().strip('"') for h in f.readline().split(",")]
        rows = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str, ndmin=2)
        if rows.shape[1] != len(header):
            raise DatasetError(
                f"{path}: rows have {rows.shape[1]} fields, header has {len(header)}"
            )
        return {name: rows[:, i] for i, name in enumerate(header)}
    raise DatasetError(f"{path}: JSC data must be a .csv or .parquet file")


def _labels(columns: dict[str, np.ndarray], path: Path) -> np.ndarray:
    if "class" in columns:
        raw = columns["class"].astype(str)
        if np.all(np.isin(raw, JSC_CLASSES)):
            return np.array([JSC_CLASSES.index(v) for v in raw], dtype=np.int64)
        try:
            labels = raw.astype(float).astype(np.int64)
        except ValueError as err:
            raise DatasetError(f"{path}: column 'class' must hold 0..4 or {JSC_CLASSES}") from err
        if labels.min() < 0 or labels.max() > 4:
            raise DatasetError(f"{path}: column 'class' must be in 0..4")
        return labels
    if all(c in columns for c in JSC_CLASSES):
        onehot = np.stack([columns[c].astype(float) for c in JSC_CLASSES], axis=1)
        return onehot.argmax(axis=1).astype(np.int64)
    raise DatasetError(f"{path}: needs a 'class' column or one-hot columns {JSC_CLASSES}")


def load_jsc(path: str | Path) -> ArrayDataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: JSC data file not found")
    columns = _read_columns(path)
    missing = [f for f in JSC_FEATURES if f not in columns]
    if missing:
        raise DatasetError(f"{path}: missing feature columns {missing}")
    try:
        x = np.stack([columns[f].astype(np.float32) for f in JSC_FEATURES], axis=1)
    except ValueError as err:
        raise DatasetError(f"{path}: feature columns must be numeric ({err})") from err
    y = _labels(columns, path)
    train, val, test = split_three_ways(x, y)
    mean, std = train.x.mean(axis=0), train.x.std(axis=0) + 1e-6

    def scale(s: Split) -> Split:
        return Split(((s.x - mean) / std).astype(np.float32), s.y)

    return ArrayDataset("jsc", scale(train), scale(val), scale(test), num_classes=5)
