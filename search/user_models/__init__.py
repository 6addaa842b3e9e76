"""Bring your own model: an ONNX file or a torch.export .pt2 program, plus an .npz dataset.

Nothing is unpickled. Both formats are rebuilt as an `nn.Sequential` of the operations the
transforms and the hardware support (Linear, Conv2d, ReLU, MaxPool2d, Flatten): ONNX by
`_onnx`, .pt2 by `_pt2` (which explains why `torch.export.load` is never used).
"""

from pathlib import Path

import torch

from search.data import load_npz_dataset
from search.tasks import ClassificationTask
from search.user_models._common import MAX_MODEL_BYTES, UserModelError
from search.user_models._onnx import sequential_from_onnx
from search.user_models._pt2 import (
    PT2_ARCHIVE_VERSION,
    PT2_LAYER_OPS,
    PT2_SCHEMA_MAJOR,
    sequential_from_pt2,
)
from search.workload import Workload

__all__ = [
    "MAX_MODEL_BYTES",
    "PT2_ARCHIVE_VERSION",
    "PT2_LAYER_OPS",
    "PT2_SCHEMA_MAJOR",
    "UserModelError",
    "load_user_workload",
    "sequential_from_onnx",
    "sequential_from_pt2",
]


def load_user_workload(model_file) -> Workload:
    """A Workload from a job's `ModelFile` (path, format, dataset)."""
    path = Path(model_file.path)
    if not path.is_file():
        raise UserModelError(f"{path}: model file not found")
    load = sequential_from_pt2 if model_file.format == "pt2" else sequential_from_onnx
    model = load(path)
    dataset = load_npz_dataset(model_file.dataset, name=path.stem)
    try:
        with torch.no_grad():
            model(torch.from_numpy(dataset.val.x[:2]))
    except RuntimeError as err:
        raise UserModelError(
            f"{path}: does not accept inputs of {model_file.dataset} shaped "
            f"{dataset.input_shape} ({err})"
        ) from err
    return Workload(path.stem, model, dataset, ClassificationTask())
