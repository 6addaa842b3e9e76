"""Dataset containers and the one seeded split rule every loader uses."""

from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 0


class DatasetError(ValueError):
    """A dataset could not be found or does not have the expected schema."""


@dataclass(frozen=True)
class Split:
    """Inputs `x` (float32, N x features or N x C x H x W) and integer labels `y` (N)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class ArrayDataset:
    """A classification dataset split three ways."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])


@dataclass(frozen=True)
class TextDataset:
    """A character corpus as token ids, with its vocabulary (`chars[i]` is token i)."""

    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    chars: str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise DatasetError(f"characters not in the {self.name} vocabulary: {unknown}")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def split_three_ways(
    x: np.ndarray, y: np.ndarray, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> tuple[Split, Split, Split]:
    """Shuffle once with SPLIT_SEED and cut into train / val / test, so splits never move."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test = round(len(y) * test_fraction)
    n_val = round(len(y) * val_fraction)
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return Split(x[train], y[train]), Split(x[val], y[val]), Split(x[test], y[test])


def split_off_validation(x: np.ndarray, y: np.ndarray, n_val: int) -> tuple[Split, Split]:
    """Hold out `n_val` seeded samples of an official training set for validation."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    return Split(x[order[n_val:]], y[order[n_val:]]), Split(x[order[:n_val]], y[order[:n_val]])
