"""Bring your own model: an ONNX file (or torch.export .pt2) plus an .npz dataset.

Nothing is unpickled. ONNX is protobuf: the graph is read with `onnx` and rebuilt as an
`nn.Sequential` of the operations the transforms and the hardware support (Gemm/MatMul+Add,
Conv, Relu, MaxPool, Flatten/Reshape). `torch.export.load` falls back to unpickling
(`weights_only=False`) when a safe load fails, so .pt2 files are refused with that reason.
"""

import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from search.data import load_npz_dataset
from search.evaluate import Workload
from search.tasks import ClassificationTask

MAX_MODEL_BYTES = 64 * 2**20


class UserModelError(ValueError):
    """The user's model file cannot be used; the message names the file and the reason."""


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _layer_name(node, index: int, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", node.name.strip("/").split("/")[0]) or ""
    if not base or base[0].isdigit() or base in used:
        base = f"{node.op_type.lower()}{index}"
    used.add(base)
    return base


def sequential_from_onnx(path: str | Path) -> nn.Sequential:
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise UserModelError(f"{path}: larger than {MAX_MODEL_BYTES >> 20} MiB")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and friends
        raise UserModelError(f"{path}: not an ONNX model ({err})") from err
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    used: set[str] = set()
    pending_matmul: nn.Linear | None = None
    for i, node in enumerate(model.graph.node):
        op, attrs = node.op_type, _attrs(node)
        name = _layer_name(node, i, used)
        if op == "Gemm":
            w = weights[node.input[1]]
            w = w if attrs.get("transB", 0) else w.T
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
                raise UserModelError(f"{path}: node {node.name}: Gemm with transA/alpha")
            linear = nn.Linear(w.shape[1], w.shape[0], bias=len(node.input) > 2)
            linear.weight.data = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))
            if len(node.input) > 2:
                beta = attrs.get("beta", 1.0)
                linear.bias.data = torch.from_numpy(
                    (beta * weights[node.input[2]]).astype(np.float32)
                )
            layers[name] = linear
        elif op == "MatMul":
            w = weights[node.input[1]]  # (in, out)
            pending_matmul = nn.Linear(w.shape[0], w.shape[1])
            pending_matmul.weight.data = torch.from_numpy(np.ascontiguousarray(w.T, np.float32))
            pending_matmul.bias.data.zero_()
            layers[name] = pending_matmul
        elif op == "Add" and pending_matmul is not None and node.input[1] in weights:
            pending_matmul.bias.data = torch.from_numpy(weights[node.input[1]].astype(np.float32))
            pending_matmul = None
        elif op == "Conv":
            w = weights[node.input[1]]
            pads, strides = attrs.get("pads", [0] * 4), attrs.get("strides", [1, 1])
            if len(set(pads)) != 1 or len(set(strides)) != 1 or attrs.get("group", 1) != 1:
                raise UserModelError(f"{path}: node {node.name}: Conv must be square, ungrouped")
            conv = nn.Conv2d(
                w.shape[1], w.shape[0], w.shape[2], strides[0], pads[0], bias=len(node.input) > 2
            )
            conv.weight.data = torch.from_numpy(w.astype(np.float32))
            if len(node.input) > 2:
                conv.bias.data = torch.from_numpy(weights[node.input[2]].astype(np.float32))
            layers[name] = conv
        elif op == "Relu":
            layers[name] = nn.ReLU()
        elif op == "MaxPool":
            kernel, strides = attrs["kernel_shape"], attrs.get("strides", attrs["kernel_shape"])
            layers[name] = nn.MaxPool2d(kernel[0], strides[0])
        elif op in ("Flatten", "Reshape"):
            layers[name] = nn.Flatten()
        else:
            raise UserModelError(
                f"{path}: node {node.name or i}: ONNX op {op} is not supported "
                "(supported: Gemm, MatMul+Add, Conv, Relu, MaxPool, Flatten, Reshape)"
            )
    return nn.Sequential(layers).eval()


def load_user_workload(model_file) -> Workload:
    """A Workload from a job's `ModelFile` (path, format, dataset)."""
    path = Path(model_file.path)
    if not path.is_file():
        raise UserModelError(f"{path}: model file not found")
    if model_file.format == "pt2":
        raise UserModelError(
            f"{path}: .pt2 programs are refused: torch.export.load unpickles their weights "
            "(it retries with weights_only=False), which is unsafe for uploaded files. "
            "Export the model to ONNX instead (torch.onnx.export)."
        )
    model = sequential_from_onnx(path)
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
