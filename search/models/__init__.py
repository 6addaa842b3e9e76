"""The model zoo: each entry names its builder, dataset, task and training defaults."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from search.checkpoint import load_checkpoint
from search.models.char_gpt import CharGPT, CharGPTConfig
from search.models.digits_cnn import DigitsCNN, DigitsCNNConfig
from search.models.digits_mlp import DigitsMLP, DigitsMLPConfig
from search.models.fmnist_cnn import FMNISTCNN, FMNISTCNNConfig
from search.models.jsc_mlp import JSCMLP, JSCMLPConfig

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


@dataclass(frozen=True)
class ZooEntry:
    """What `train`, `eval` and the search need to know about a zoo model."""

    build: Callable[[], nn.Module]
    dataset: str
    task: str  # "classification" or "next-char"; selects the evaluator
    epochs: int  # default training length
    lr: float = 3e-3
    batch_size: int = 64


ZOO: dict[str, ZooEntry] = {
    "digits-mlp": ZooEntry(DigitsMLP, "digits", "classification", epochs=10, lr=1e-2, batch_size=8),
    "digits-cnn": ZooEntry(DigitsCNN, "digits", "classification", epochs=10, lr=1e-2, batch_size=8),
    "fmnist-cnn": ZooEntry(FMNISTCNN, "fashion-mnist", "classification", epochs=4, lr=2e-3),
    "jsc-mlp": ZooEntry(JSCMLP, "jsc", "classification", epochs=10, lr=1e-3, batch_size=256),
    "char-gpt": ZooEntry(
        CharGPT, "tiny-shakespeare", "next-char", epochs=8, lr=2e-3, batch_size=32
    ),
}


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        return f"unknown model {self.args[0]!r}; zoo models: {', '.join(ZOO)}"


def zoo_entry(name: str) -> ZooEntry:
    if name not in ZOO:
        raise UnknownModelError(name)
    return ZOO[name]


def build_model(name: str) -> nn.Module:
    return zoo_entry(name).build()


def checkpoint_path(name: str) -> Path:
    return CHECKPOINT_DIR / f"{name}.safetensors"


def load_pretrained(name: str, path: str | Path | None = None) -> nn.Module:
    """The shipped checkpoint (or `path`), in eval mode."""
    model = build_model(name)
    load_checkpoint(model, path or checkpoint_path(name), name)
    return model.eval()


__all__ = [
    "CHECKPOINT_DIR",
    "FMNISTCNN",
    "JSCMLP",
    "ZOO",
    "CharGPT",
    "CharGPTConfig",
    "DigitsCNN",
    "DigitsCNNConfig",
    "DigitsMLP",
    "DigitsMLPConfig",
    "FMNISTCNNConfig",
    "JSCMLPConfig",
    "UnknownModelError",
    "ZooEntry",
    "build_model",
    "checkpoint_path",
    "load_pretrained",
    "zoo_entry",
]
