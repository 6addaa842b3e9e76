"""Files users upload: a tiny ONNX MLP with its .npz dataset, and a malicious pickle."""

import io
import pickle
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
