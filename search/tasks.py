"""Tasks: how a model family is fed, trained and scored.

A task turns a dataset into model inputs (for training, calibration and test vectors) and
scores a model on a split with named metrics. Search objectives name one of those metrics.
Adding a task or a metric is one small subclass registered in `TASKS`; nothing else in the
search needs to change.
"""

import abc
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from search.data import ArrayDataset, TextDataset

MAXIMIZE, MINIMIZE = "maximize", "minimize"


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype a model computes in (float64 for fake-quant models)."""
    for tensor in model.state_dict().values():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


class Task(abc.ABC):
    """One way of feeding and scoring models.

    `metrics` maps each metric name to "maximize" or "minimize"; `evaluate` must return
    every one of them. `inputs` returns a deterministic batch of model inputs from a split
    (calibration data, test vectors); `batches` yields shuffled (input, target) training pairs.
    """

    metrics: ClassVar[dict[str, str]] = {}

    @abc.abstractmethod
    def inputs(self, dataset, split: str, limit: int | None = None) -> torch.Tensor: ...

    @abc.abstractmethod
    def targets(self, dataset, split: str, limit: int | None = None) -> torch.Tensor: ...

    @abc.abstractmethod
    def batches(
        self, dataset, batch_size: int, rng: np.random.Generator
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def score(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Metrics from logits; override to add metrics (call super and extend)."""
        flat, flat_targets = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
        return {
            "accuracy": (flat.argmax(-1) == flat_targets).double().mean().item(),
            "cross_entropy": F.cross_entropy(flat.double(), flat_targets).item(),
        }

    @torch.no_grad()
    def evaluate(
        self,
        model: nn.Module,
        dataset,
        split: str = "val",
        limit: int | None = None,
        batch_size: int = 1024,
    ) -> dict[str, float]:
        x = self.inputs(dataset, split, limit)
        if x.is_floating_point():
            x = x.to(model_dtype(model))
        y = self.targets(dataset, split, limit)
        logits = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
        return self.score(logits, y)


class ClassificationTask(Task):
    """Image or feature vectors to one label each."""

    metrics: ClassVar[dict[str, str]] = {"accuracy": MAXIMIZE, "cross_entropy": MINIMIZE}

    def _split(self, dataset: ArrayDataset, split: str, limit: int | None):
        s = getattr(dataset, split)
        return s.x[:limit], s.y[:limit]

    def inputs(self, dataset: ArrayDataset, split: str, limit: int | None = None) -> torch.Tensor:
        return torch.from_numpy(self._split(dataset, split, limit)[0])

    def targets(self, dataset: ArrayDataset, split: str, limit: int | None = None) -> torch.Tensor:
        return torch.from_numpy(self._split(dataset, split, limit)[1])

    def batches(self, dataset: ArrayDataset, batch_size: int, rng: np.random.Generator):
        order = rng.permutation(len(dataset.train))
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            yield torch.from_numpy(dataset.train.x[idx]), torch.from_numpy(dataset.train.y[idx])


class NextCharTask(Task):
    """Character sequences; every position predicts the next character."""

    metrics: ClassVar[dict[str, str]] = {"accuracy": MAXIMIZE, "cross_entropy": MINIMIZE}

    def __init__(self, block_size: int = 64, eval_windows: int = 256, steps_per_epoch: int = 500):
        self.block_size = block_size
        self.eval_windows = eval_windows
        self.steps_per_epoch = steps_per_epoch

    def _windows(self, ids: np.ndarray, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        offsets = starts[:, None] + np.arange(self.block_size + 1)[None, :]
        chunk = torch.from_numpy(ids[offsets])  # (N, block_size + 1)
        return chunk[:, :-1], chunk[:, 1:]

    def _eval_starts(self, ids: np.ndarray, limit: int | None) -> np.ndarray:
        n = self.eval_windows if limit is None else min(limit, self.eval_windows)
        return np.linspace(0, len(ids) - self.block_size - 1, n).astype(np.int64)

    def inputs(self, dataset: TextDataset, split: str, limit: int | None = None) -> torch.Tensor:
        ids = getattr(dataset, split)
        return self._windows(ids, self._eval_starts(ids, limit))[0]

    def targets(self, dataset: TextDataset, split: str, limit: int | None = None) -> torch.Tensor:
        ids = getattr(dataset, split)
        return self._windows(ids, self._eval_starts(ids, limit))[1]

    def batches(self, dataset: TextDataset, batch_size: int, rng: np.random.Generator):
        for _ in range(self.steps_per_epoch):
            starts = rng.integers(0, len(dataset.train) - self.block_size - 1, size=batch_size)
            yield self._windows(dataset.train, starts)


TASKS: dict[str, type[Task]] = {
    "classification": ClassificationTask,
    "next-char": NextCharTask,
}


def make_task(name: str) -> Task:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]()
