"""torch.export .pt2 to the `nn.Sequential` the transforms support, without unpickling.

A .pt2 is a zip of JSON (the program and its weights' metadata) and raw tensor bytes; it is
read here with `zipfile` and `json` only, never with `torch.export.load`, which unpickles with
`weights_only=False` (weights and constants flagged `use_pickle`, opaque constants, the sample
inputs after a failed safe load) and whose JSON deserializer passes shape expressions to
`sympy.sympify`, i.e. `eval`. Entries that are pickles (sample inputs, AOTInductor files) are
never opened.
"""

import json
import math
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from search.user_models._common import MAX_MODEL_BYTES, UserModelError, unique_module_name

# The .pt2 layout torch.export.save writes (torch/export/pt2_archive/constants.py, torch 2.13):
# <root>/archive_format = "pt2", <root>/archive_version = "0", <root>/models/model.json (the
# program, torch/_export/serde/schema.py), <root>/data/weights/model_weights_config.json and
# .../constants/model_constants_config.json (per tensor: file, use_pickle, tensor_meta) next to
# the raw bytes of each tensor's storage. The tests pin these against the installed torch.
PT2_ARCHIVE_VERSION = "0"
PT2_SCHEMA_MAJOR = 8
_PT2_DTYPES = {6: torch.float16, 7: torch.float32, 8: torch.float64, 13: torch.bfloat16}
_PT2_STRIDED = 7  # schema.Layout.Strided
_ATEN = "torch.ops.aten."
PT2_LAYER_OPS = (
    "linear.default",
    "conv2d.default",
    "relu.default",
    "relu_.default",
    "max_pool2d.default",
    "flatten.using_ints",
    "view.default",
    "reshape.default",
)
_PT2_PASS_OPS = ("sym_size.int", "dropout.default")  # x.size(0) for a reshape; eval dropout


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    if name not in archive.NameToInfo:
        raise UserModelError(f"{path}: not a torch.export .pt2 archive (no {name})")
    return archive.read(name)


def _read_json(archive: zipfile.ZipFile, name: str, path: Path) -> dict:
    try:
        data = json.loads(_read_member(archive, name, path))
    except (ValueError, RecursionError) as err:
        raise UserModelError(f"{path}: {name} is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise UserModelError(f"{path}: {name} is not a JSON object")
    return data


def _as_int(value: dict, what: str) -> int:
    """A concrete int of the schema ({"as_int": n}); symbolic sizes are refused, not parsed."""
    n = value.get("as_int") if isinstance(value, dict) else None
    if type(n) is not int:
        raise UserModelError(f"{what} is not a concrete integer ({value})")
    return n


def _pt2_tensor(raw: bytes, meta: dict, where: str) -> torch.Tensor:
    """A float32 tensor from a storage's raw bytes and its JSON metadata, bounds-checked first
    (as_strided must not read past the bytes, nor expand them into a huge tensor)."""
    dtype = _PT2_DTYPES.get(meta["dtype"]) if isinstance(meta["dtype"], int) else None
    if dtype is None or meta.get("layout", _PT2_STRIDED) != _PT2_STRIDED:
        raise UserModelError(
            f"{where}: dtype {meta['dtype']}, layout {meta.get('layout')} (only dense floats)"
        )
    sizes = [_as_int(v, f"{where}: size") for v in meta["sizes"]]
    strides = [_as_int(v, f"{where}: stride") for v in meta["strides"]]
    offset = _as_int(meta["storage_offset"], f"{where}: storage offset")
    itemsize = torch.empty(0, dtype=dtype).element_size()
    numel, count = len(raw) // itemsize, math.prod(sizes)
    last = offset + sum((n - 1) * st for n, st in zip(sizes, strides, strict=True))
    if (
        len(raw) % itemsize
        or min([offset, *sizes, *strides], default=0) < 0
        or count > numel
        or (count and last >= numel)
    ):
        raise UserModelError(
            f"{where}: sizes {sizes}, strides {strides}, offset {offset} do not fit its "
            f"{len(raw)} bytes"
        )
    storage = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    return storage.as_strided(sizes, strides, offset).to(torch.float32).clone()


def _pt2_tensors(archive: zipfile.ZipFile, config_name: str, path: Path) -> dict:
    """FQN -> tensor for one payload config (weights or constants); pickled entries refused."""
    config = _read_json(archive, config_name, path).get("config")
    if not isinstance(config, dict):
        raise UserModelError(f"{path}: {config_name} has no config")
    folder = config_name.rsplit("/", 1)[0]
    tensors = {}
    for fqn, entry in config.items():
        where = f"{path}: {fqn!r}"
        if entry["use_pickle"] is not False:
            raise UserModelError(
                f"{where} is stored as a pickle (a tensor subclass or a Python object); "
                "pickles in uploaded files are never loaded"
            )
        name = f"{folder}/{entry['path_name']}"
        if "/" in entry["path_name"] or name not in archive.NameToInfo:
            raise UserModelError(f"{where}: no tensor data {entry['path_name']!r}")
        tensors[fqn] = _pt2_tensor(archive.read(name), entry["tensor_meta"], where)
    return tensors


def _read_pt2(path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """The program (JSON) and its tensors by FQN, read with zipfile and json only. Entries
    not named here (sample inputs: a torch.save pickle; AOTInductor code) are never opened."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = names[0].split("/", 1)[0] if names else ""
        if not root or any(not n.startswith(f"{root}/") for n in names):
            raise UserModelError(f"{path}: not a torch.export .pt2 archive (no single root)")
        if sum(info.file_size for info in archive.infolist()) > MAX_MODEL_BYTES:
            raise UserModelError(f"{path}: unpacks to more than {MAX_MODEL_BYTES >> 20} MiB")
        if _read_member(archive, f"{root}/archive_format", path) != b"pt2":
            raise UserModelError(f"{path}: not a torch.export .pt2 archive (archive_format)")
        version = _read_member(archive, f"{root}/archive_version", path).decode(errors="replace")
        if version != PT2_ARCHIVE_VERSION:
            raise UserModelError(
                f"{path}: .pt2 archive version {version!r}; this server reads "
                f"{PT2_ARCHIVE_VERSION!r} (torch.export.save of torch 2.13)"
            )
        byteorder = archive.NameToInfo.get(f"{root}/byteorder")
        if byteorder and archive.read(byteorder).decode(errors="replace") != sys.byteorder:
            raise UserModelError(f"{path}: saved on a machine of the other byte order")
        if f"{root}/data/weights/model.pt" in archive.NameToInfo:
            raise UserModelError(
                f"{path}: an old .pt2 layout whose weights are one pickle; save it again with "
                "torch.export.save of torch 2.13"
            )
        programs = sorted(n for n in names if n.startswith(f"{root}/models/"))
        if programs != [f"{root}/models/model.json"]:
            raise UserModelError(
                f"{path}: expected one program, models/model.json (torch.export.save); found "
                f"{[n.removeprefix(f'{root}/') for n in programs]}"
            )
        program = _read_json(archive, programs[0], path)
        weights = _pt2_tensors(archive, f"{root}/data/weights/model_weights_config.json", path)
        consts = _pt2_tensors(archive, f"{root}/data/constants/model_constants_config.json", path)
    major = program["schema_version"]["major"]
    if major != PT2_SCHEMA_MAJOR:
        raise UserModelError(
            f"{path}: program schema version {major}; this server reads {PT2_SCHEMA_MAJOR}"
        )
    return program, {**consts, **weights}


def _tensor_arg(args: dict, key: str) -> str | None:
    arg = args.get(key)
    if arg is None or "as_none" in arg:
        return None
    return arg["as_tensor"]["name"]


def _ints_arg(args: dict, key: str, default: list[int], where: str) -> list[int]:
    """An int or int-list argument; the serializer leaves out arguments at their default."""
    arg = args.get(key)
    if arg is None:
        return default
    values = arg["as_ints"] if "as_ints" in arg else [arg.get("as_int")]
    if not isinstance(values, list) or any(type(v) is not int for v in values):
        raise UserModelError(f"{where}: {key} is not a constant integer list ({arg})")
    return values


def _weight(args: dict, key: str, params: dict, where: str) -> tuple[str, torch.Tensor] | None:
    """(FQN, tensor) of a weight argument; None for an absent bias."""
    name = _tensor_arg(args, key)
    if name is None and key == "bias":
        return None
    if name not in params:
        raise UserModelError(f"{where}: {key} {name!r} is not a parameter, buffer or constant")
    return params[name]


def _pt2_linear(args: dict, params: dict, where: str) -> nn.Linear:
    _, weight = _weight(args, "weight", params, where)
    bias = b[1] if (b := _weight(args, "bias", params, where)) else None
    if weight.ndim != 2 or (bias is not None and bias.shape != weight.shape[:1]):
        raise UserModelError(f"{where}: weight {tuple(weight.shape)} is not (out, in)")
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    linear.weight.data = weight.clone()  # a clone: a weight shared by two layers is pruned twice
    if bias is not None:
        linear.bias.data = bias.clone()
    return linear


def _pt2_conv(args: dict, params: dict, where: str) -> nn.Conv2d:
    _, weight = _weight(args, "weight", params, where)
    bias = b[1] if (b := _weight(args, "bias", params, where)) else None
    stride = _ints_arg(args, "stride", [1], where)
    padding = _ints_arg(args, "padding", [0], where)
    dilation = _ints_arg(args, "dilation", [1], where)
    groups = _ints_arg(args, "groups", [1], where)
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise UserModelError(f"{where}: weight {tuple(weight.shape)} is not a square 2-d kernel")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise UserModelError(f"{where}: bias {tuple(bias.shape)} does not match the weight")
    if len(set(stride)) != 1 or len(set(padding)) != 1 or set(dilation) != {1} or groups != [1]:
        raise UserModelError(f"{where}: conv2d must be square, undilated, ungrouped")
    out_ch, in_ch, k = weight.shape[0], weight.shape[1], weight.shape[2]
    conv = nn.Conv2d(in_ch, out_ch, k, stride[0], padding[0], bias=bias is not None)
    conv.weight.data = weight.clone()
    if bias is not None:
        conv.bias.data = bias.clone()
    return conv


def _pt2_max_pool(args: dict, where: str) -> nn.MaxPool2d:
    kernel = _ints_arg(args, "kernel_size", [], where)
    stride = _ints_arg(args, "stride", [], where) or kernel  # aten: stride=[] is the kernel
    padding = _ints_arg(args, "padding", [0], where)
    dilation = _ints_arg(args, "dilation", [1], where)
    ceil_mode = args.get("ceil_mode", {"as_bool": False}).get("as_bool")
    if len(set(kernel)) != 1 or len(set(stride)) != 1 or set(padding) != {0}:
        raise UserModelError(f"{where}: max_pool2d must be square and unpadded")
    if set(dilation) != {1} or ceil_mode is not False:
        raise UserModelError(f"{where}: max_pool2d must be undilated, without ceil_mode")
    return nn.MaxPool2d(kernel[0], stride[0])


def _pt2_flatten(op: str, args: dict, sizes: dict, source: str, out: str, where: str):
    """flatten(x, 1), or a view/reshape that keeps the batch and gives (batch, features)."""
    before = sizes[source]["sizes"]
    if op == "flatten.using_ints":
        start = _ints_arg(args, "start_dim", [0], where)
        end = _ints_arg(args, "end_dim", [-1], where)
        if start != [1] or end not in ([-1], [len(before) - 1]):
            raise UserModelError(f"{where}: only flatten(x, 1) (keep the batch) is supported")
    else:  # the batch may be symbolic: compare the serialized sizes, never evaluate them
        after = sizes[out]["sizes"]
        if len(after) != 2 or len(before) < 2 or before[0] != after[0]:
            raise UserModelError(f"{where}: only a reshape to (batch, features) is supported")
    return nn.Flatten()


def _pt2_signature(program: dict, tensors: dict, path: Path) -> tuple[str, str, dict]:
    """The user input, the output and placeholder -> (FQN, tensor) for the rest."""
    signature = program["graph_module"]["signature"]
    params, user_inputs = {}, []
    fqn_keys = {
        "parameter": "parameter_name",
        "buffer": "buffer_name",
        "tensor_constant": "tensor_constant_name",
    }
    for spec in signature["input_specs"]:
        ((kind, body),) = spec.items()
        if kind == "user_input":
            user_inputs.append(body["arg"]["as_tensor"]["name"])
        elif kind in fqn_keys and body[fqn_keys[kind]] in tensors:
            fqn = body[fqn_keys[kind]]
            params[body["arg"]["name"]] = (fqn, tensors[fqn])
        else:
            raise UserModelError(f"{path}: program input {kind} {body} is not a stored tensor")
    outputs = signature["output_specs"]
    if len(user_inputs) != 1 or len(outputs) != 1 or "user_output" not in outputs[0]:
        raise UserModelError(f"{path}: the program must take one tensor and return one")
    return user_inputs[0], outputs[0]["user_output"]["arg"]["as_tensor"]["name"], params


def _pt2_layers(program: dict, tensors: dict, path: Path) -> OrderedDict[str, nn.Module]:
    """Walk the exported graph: a chain of supported aten ops from the input to the output."""
    current, output, params = _pt2_signature(program, tensors, path)
    graph = program["graph_module"]["graph"]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    used: set[str] = set()
    for i, node in enumerate(graph["nodes"]):
        target, args = node["target"], {a["name"]: a["arg"] for a in node["inputs"]}
        op = target.removeprefix(_ATEN) if target.startswith(_ATEN) else ""
        label = node.get("name") or i
        where = f"{path}: node {label} ({target})"
        if op not in PT2_LAYER_OPS + _PT2_PASS_OPS:
            raise UserModelError(
                f"{path}: node {label}: op {target} is not supported "
                f"(supported: aten.{', aten.'.join(PT2_LAYER_OPS)})"
            )
        if op == "sym_size.int":  # a size query, e.g. x.size(0) for view(); not a layer
            continue
        source = _tensor_arg(args, "input" if "input" in args else "self")
        if source != current:
            raise UserModelError(f"{where}: the layers are not a chain (it reads {source!r})")
        outs = node["outputs"]
        if len(outs) != 1 or "as_tensor" not in outs[0]:
            raise UserModelError(f"{where}: expected one tensor output")
        current, name = outs[0]["as_tensor"]["name"], node.get("name", "")
        if op == "dropout.default":
            if args["train"].get("as_bool") is not False:
                raise UserModelError(f"{where}: dropout in training mode; export model.eval()")
            continue
        if op in ("linear.default", "conv2d.default"):
            fqn, _ = _weight(args, "weight", params, where)
            name = fqn.rpartition(".")[0]  # the user's module: fc1.weight -> fc1
            build = _pt2_linear if op == "linear.default" else _pt2_conv
            layer = build(args, params, where)
        elif op in ("relu.default", "relu_.default"):
            layer = nn.ReLU()
        elif op == "max_pool2d.default":
            layer = _pt2_max_pool(args, where)
        else:
            layer = _pt2_flatten(op, args, graph["tensor_values"], source, current, where)
        layers[unique_module_name(name, f"{op.split('.')[0]}{i}", used)] = layer
    if output != current:
        raise UserModelError(f"{path}: the output is not the last layer's")
    return layers


def sequential_from_pt2(path: str | Path) -> nn.Sequential:
    """An nn.Sequential from a torch.export .pt2, read without unpickling or sympify."""
    path = Path(path)
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise UserModelError(f"{path}: larger than {MAX_MODEL_BYTES >> 20} MiB")
    try:
        program, tensors = _read_pt2(path)
        layers = _pt2_layers(program, tensors, path)
    except UserModelError:
        raise
    except Exception as err:  # zipfile/zlib errors, or JSON not shaped as the schema says
        raise UserModelError(
            f"{path}: not a torch.export .pt2 program this server reads "
            f"({type(err).__name__}: {err})"
        ) from err
    if not layers:
        raise UserModelError(f"{path}: the program has no layers")
    return nn.Sequential(layers).eval()
