"""ONNX (protobuf, read with `onnx`) to the `nn.Sequential` the transforms support."""

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from search.user_models._common import MAX_MODEL_BYTES, UserModelError, unique_module_name


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _layer_name(node, index: int, used: set[str]) -> str:
    return unique_module_name(
        node.name.strip("/").split("/")[0], f"{node.op_type.lower()}{index}", used
    )


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
            linear.weight.data = torch.from_numpy(np.array(w, dtype=np.float32, order="C"))
            if len(node.input) > 2:
                beta = attrs.get("beta", 1.0)
                linear.bias.data = torch.from_numpy(
                    (beta * weights[node.input[2]]).astype(np.float32)
                )
            layers[name] = linear
        elif op == "MatMul":
            w = weights[node.input[1]]  # (in, out)
            pending_matmul = nn.Linear(w.shape[0], w.shape[1])
            pending_matmul.weight.data = torch.from_numpy(
                np.array(w.T, dtype=np.float32, order="C")
            )
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
