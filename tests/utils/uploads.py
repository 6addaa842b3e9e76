"""Files users upload: a tiny ONNX or .pt2 MLP with its .npz dataset, and malicious pickles."""

import io
import json
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

N_FEATURES, N_HIDDEN, N_CLASSES = 8, 16, 3


def onnx_mlp_bytes(seed: int = 0) -> bytes:
    """Gemm(8->16) -> Relu -> Gemm(16->3), built with onnx.helper (no torch export)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(size=(N_HIDDEN, N_FEATURES)).astype(np.float32), "w1"),
        numpy_helper.from_array(np.zeros(N_HIDDEN, np.float32), "b1"),
        numpy_helper.from_array(rng.normal(size=(N_CLASSES, N_HIDDEN)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.zeros(N_CLASSES, np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", N_FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", N_CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return model.SerializeToString()


def torch_mlp(seed: int = 0):
    """fc1(8->16) -> relu1 -> fc2(16->3), the ONNX MLP's shape, as a torch module."""
    import torch
    from torch import nn

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.relu1 = nn.Linear(N_FEATURES, N_HIDDEN), nn.ReLU()
            self.fc2 = nn.Linear(N_HIDDEN, N_CLASSES)

        def forward(self, x):
            return self.fc2(self.relu1(self.fc1(x)))

    torch.manual_seed(seed)
    return Mlp().eval()


def pt2_bytes(model, example) -> bytes:
    """`torch.export.save` of `torch.export.export(model, (example,))`."""
    import torch

    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model, (example,)), buffer)
    return buffer.getvalue()


def pt2_mlp_bytes(seed: int = 0) -> bytes:
    import torch

    return pt2_bytes(torch_mlp(seed), torch.zeros(2, N_FEATURES))


def rewrite_zip(content: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """A copy of a zip with each entry replaced by `change(name, data)` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = change(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
    return out.getvalue()


def pt2_with_pickled_weight(content: bytes, marker: Path) -> bytes:
    """A .pt2 whose first weight is flagged `use_pickle` and is a malicious pickle: what
    torch.export.load would hand to torch.load(weights_only=False)."""

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("data/weights/model_weights_config.json"):
            config = json.loads(data)
            first = next(iter(config["config"].values()))
            first["use_pickle"] = True
            return json.dumps(config).encode()
        if name.endswith("data/weights/weight_0"):
            return malicious_pickle(marker)
        return data

    return rewrite_zip(content, change)


def npz_dataset_bytes(n: int = 120, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"x_{split}"] = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
        arrays[f"y_{split}"] = rng.integers(0, N_CLASSES, n)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


class _OpensFile:
    """Unpickling this creates `marker`: proof that someone loaded the pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def malicious_pickle(marker: Path) -> bytes:
    return pickle.dumps(_OpensFile(marker))
