import numpy as np
import pytest

from search.data import (
    DatasetError,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_jsc,
    load_npz_dataset,
    load_tiny_shakespeare,
)
from tests.utils.datafiles import jsc_columns, write_fashion_mnist, write_jsc_csv


def test_digits_splits_are_fixed_and_disjoint():
    a, b = load_digits(), load_digits()
    assert np.array_equal(a.val.x, b.val.x)
    assert (len(a.train), len(a.val), len(a.test)) == (1257, 270, 270)
    rows = {r.tobytes() for s in (a.train, a.val, a.test) for r in s.x}
    assert len(rows) >= 1797 - 20  # load_digits has a few duplicate images, nothing more


def test_fashion_mnist_reads_idx_files_from_hwsearch_data(tmp_path, monkeypatch):
    write_fashion_mnist(tmp_path / "fashion-mnist")
    monkeypatch.setenv("HWSEARCH_DATA", str(tmp_path))
    data = load_fashion_mnist()
    assert data.input_shape == (1, 28, 28)
    assert (len(data.train), len(data.val), len(data.test)) == (100, 5000, 50)
    assert data.train.x.min() >= 0.0 and data.train.x.max() <= 1.0


def test_fashion_mnist_missing_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HWSEARCH_DATA", str(tmp_path))
    monkeypatch.setattr(
        "search.data._fashion_mnist.fashion_mnist_search_paths", lambda: [tmp_path / "nowhere"]
    )
    with pytest.raises(DatasetError, match="nowhere"):
        load_fashion_mnist()


def test_jsc_loads_csv_with_16_features_and_5_classes(tmp_path):
    write_jsc_csv(tmp_path / "jsc.csv", jsc_columns())
    data = load_jsc(tmp_path / "jsc.csv")
    assert data.input_shape == (16,) and data.num_classes == 5
    assert abs(data.train.x.mean()) < 0.1  # standardised on the training split


def test_jsc_loads_parquet_with_one_hot_labels(tmp_path):
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    columns = jsc_columns()
    labels = columns.pop("class")
    for i, name in enumerate(("j_g", "j_q", "j_w", "j_z", "j_t")):
        columns[name] = (labels == i).astype(int)
    pq.write_table(pa.table(columns), tmp_path / "jsc.parquet")
    data = load_jsc(tmp_path / "jsc.parquet")
    assert len(data.train) + len(data.val) + len(data.test) == 200


def test_jsc_missing_feature_is_named(tmp_path):
    columns = jsc_columns()
    del columns["j_mass_mmdt"]
    write_jsc_csv(tmp_path / "bad.csv", columns)
    with pytest.raises(DatasetError, match=r"bad\.csv.*j_mass_mmdt"):
        load_jsc(tmp_path / "bad.csv")


def test_jsc_requires_a_file():
    with pytest.raises(DatasetError, match="needs a file"):
        load_dataset("jsc")


def test_npz_dataset_refuses_pickled_arrays(tmp_path):
    objects = np.array([{"a": 1}] * 4, dtype=object)
    np.savez(
        tmp_path / "d.npz",
        x_train=objects,
        y_train=np.zeros(4, int),
        x_val=objects,
        y_val=np.zeros(4, int),
        x_test=objects,
        y_test=np.zeros(4, int),
    )
    with pytest.raises(DatasetError, match="pickle"):
        load_npz_dataset(tmp_path / "d.npz")


def test_npz_dataset_loads_plain_arrays(tmp_path):
    x, y = np.ones((6, 3), np.float32), np.arange(6) % 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_val=x, y_val=y, x_test=x, y_test=y)
    assert load_npz_dataset(tmp_path / "d.npz").num_classes == 2


def test_tiny_shakespeare_is_shipped_and_round_trips():
    data = load_tiny_shakespeare()
    assert data.vocab_size == 65
    assert data.decode(data.encode("ROMEO:")) == "ROMEO:"
    assert len(data.train) > 10 * len(data.val)
