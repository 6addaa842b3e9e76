"""Export a candidate for the hardware team: integer weights, metadata, test vectors, README.

    out/
      network.json    the integer network: ops in order, formats, requantization constants
      weights.npz     int64 weight and bias codes, keyed "<layer>.weight" / "<layer>.bias"
      masks.npz       bool nonzero masks of the weights, keyed "<layer>"
      metadata.json   per-layer config, sparsity statistics, hardware estimate (when given)
      vectors.npz     test vectors: inputs (codes), golden outputs (accumulators), labels
      rtl/            generated SystemVerilog and memory files (when rtl/ can generate it)
      README.md       what every file and number means

`load_integer_network(out)` rebuilds the integer reference model from the first two files
only, so the hardware team (and our tests) can check an implementation without this package's
training code. The service's per-candidate bundle is this directory, zipped.

Models the integer chain does not cover (char-gpt) are exported layer by layer
(`export_layers`): `layers.json` replaces `network.json`, `vectors.npz` holds every weighted
layer's input codes and golden accumulators, and there is no RTL.
"""

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from search.transforms import (
    FixedPoint,
    IntegerNetwork,
    IntLayer,
    Requantization,
    TransformedModel,
    capture_inputs,
)
from search.transforms.integer_model import Flatten, MaxPool

FORMAT_VERSION = 1
# The files the module docstring documents; a bundle with a device adds RTL_FILES (and more
# memory files). The demo and the service tests check bundles against these.
EXPORT_FILES = frozenset(
    {"network.json", "weights.npz", "masks.npz", "metadata.json", "vectors.npz", "README.md"}
)
LAYERWISE_FILES = EXPORT_FILES - {"network.json"} | {"layers.json"}
# Sequences in a layer-wise export's vectors: every layer's input is kept, so they are large
# (char-gpt: 9 layers x 64 tokens x up to 256 channels per sequence).
LAYERWISE_MAX_SAMPLES = 8
RTL_FILES = frozenset(
    {"rtl/hws_net.sv", "rtl/README.md", "rtl/shape.json", "rtl/hdl/hws_engine.sv"}
)


def _fmt(f: FixedPoint) -> dict:
    return {"bits": f.bits, "frac": f.frac, "signed": f.signed, "symmetric": f.symmetric}


def _unfmt(d: dict) -> FixedPoint:
    return FixedPoint(d["bits"], d["frac"], d["signed"], d.get("symmetric", False))


def network_to_json(network: IntegerNetwork) -> dict:
    ops = []
    for op in network.ops:
        if isinstance(op, IntLayer):
            r = op.requant
            ops.append(
                {
                    "op": op.kind,
                    "name": op.name,
                    "weight_shape": list(op.weight.shape),
                    "stride": op.stride,
                    "padding": op.padding,
                    "weight_format": _fmt(op.weight_format),
                    "input_format": _fmt(op.input_format),
                    "requant": None
                    if r is None
                    else {
                        "shift": r.shift,
                        "threshold": r.threshold,
                        "out_format": _fmt(r.out_format),
                    },
                }
            )
        elif isinstance(op, MaxPool):
            ops.append({"op": "maxpool", "name": op.name, "kernel": op.kernel, "stride": op.stride})
        else:
            ops.append({"op": "flatten", "name": op.name})
    return {
        "format_version": FORMAT_VERSION,
        "input_format": _fmt(network.input_format),
        "output_frac": network.output_frac,
        "ops": ops,
    }


def _save_weights(layers: list[IntLayer], out: Path) -> None:
    arrays = {}
    for layer in layers:
        arrays[f"{layer.name}.weight"] = layer.weight
        arrays[f"{layer.name}.bias"] = layer.bias
    np.savez(out / "weights.npz", **arrays)
    np.savez(out / "masks.npz", **{lay.name: lay.weight != 0 for lay in layers})


def save_integer_network(network: IntegerNetwork, out: Path) -> None:
    (out / "network.json").write_text(json.dumps(network_to_json(network), indent=1))
    _save_weights(list(network.weighted), out)


def load_integer_network(directory: str | Path) -> IntegerNetwork:
    """Rebuild the integer reference model from network.json and weights.npz."""
    directory = Path(directory)
    spec = json.loads((directory / "network.json").read_text())
    if spec.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}/network.json: unsupported format_version")
    ops: list = []
    with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
        for op in spec["ops"]:
            if op["op"] in ("linear", "conv2d"):
                r = op["requant"]
                ops.append(
                    IntLayer(
                        op["name"],
                        op["op"],
                        arrays[f"{op['name']}.weight"],
                        arrays[f"{op['name']}.bias"],
                        _unfmt(op["weight_format"]),
                        _unfmt(op["input_format"]),
                        op["stride"],
                        op["padding"],
                        None
                        if r is None
                        else Requantization(r["shift"], r["threshold"], _unfmt(r["out_format"])),
                    )
                )
            elif op["op"] == "maxpool":
                ops.append(MaxPool(op["name"], op["kernel"], op["stride"]))
            else:
                ops.append(Flatten(op["name"]))
    return IntegerNetwork(_unfmt(spec["input_format"]), tuple(ops))


def write_vectors(network: IntegerNetwork, x: np.ndarray, labels: np.ndarray, out: Path) -> None:
    codes = network.quantize_input(x)
    outputs, layer_inputs = network.trace(codes)
    np.savez(
        out / "vectors.npz",
        inputs=codes,
        outputs=outputs,
        labels=labels,
        **{f"input.{name}": v for name, v in layer_inputs.items()},
    )


README = """# {title}

Exported by hwsearch. Every number is an integer code; a real value is `code * 2^-frac`.

## Files
- `network.json`: the integer network, ops in execution order. `linear` and `conv2d` ops give
  `weight_format` (signed, symmetric: codes in [-(2^(bits-1)-1), 2^(bits-1)-1]),
  `input_format` (unsigned [0, 2^bits-1] after a ReLU, signed [-2^(bits-1), 2^(bits-1)-1] for
  the network input), and `requant` (null for the last layer, whose outputs are the raw
  accumulators, real value `acc * 2^-output_frac`).
- `weights.npz`: int64 codes. `<layer>.weight` in PyTorch layout ((out, in) or
  (cout, cin, kh, kw)); `<layer>.bias` already in the accumulator's scale
  (`weight_format.frac + input_format.frac` fractional bits).
- `masks.npz`: bool, True where a weight is nonzero (the zero-skipping schedule).
- `metadata.json`: per-layer configuration (target sparsities and bit widths), measured
  sparsity statistics, and the analytic hardware estimate (PE, SIMD, cycles, resources).
- `vectors.npz`: `inputs` (network input codes, N samples of the test split), `outputs`
  (golden output accumulators), `labels`, and `input.<layer>` (each layer's input codes).
{rtl_section}
## Arithmetic (exact)
`acc = bias + sum_k w[o, k] * x[k]` in wide integers. Then, for all but the last layer, with
`shift = weight_format.frac + input_format.frac - out_format.frac`:
1. `y = (acc + 2^(shift-1)) >> shift` (arithmetic shift; round half up) if `shift > 0`,
   else `y = acc << -shift`;
2. `y = y if y > threshold else 0` (thresholded ReLU);
3. `y = clamp(y, 0, 2^out_bits - 1)`.
Max-pool takes the maximum of requantized codes. Flatten is PyTorch's (C, H, W) order.
"""

RTL_SECTION = """- `rtl/`: the generated accelerator (SystemVerilog top, memory files, its README).
"""


def export_candidate(
    network: IntegerNetwork,
    x: np.ndarray,
    labels: np.ndarray,
    out: str | Path,
    metadata: dict,
    title: str,
    rtl_writer=None,
) -> Path:
    """Write the directory described in the module docstring; returns it.

    `rtl_writer(network, out / "rtl")`, when given, generates the hardware into `rtl/`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_integer_network(network, out)
    write_vectors(network, x, labels, out)
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1, default=_jsonable))
    if rtl_writer is not None:
        rtl_writer(network, out / "rtl")
    section = RTL_SECTION if rtl_writer is not None else ""
    (out / "README.md").write_text(README.format(title=title, rtl_section=section))
    return out


LAYERS_README = """# {title}

Exported by hwsearch, layer by layer: this model is not a chain of layers, so there is no
whole-network integer model or RTL, but every weighted layer is exact on its own. Every number
is an integer code; a real value is `code * 2^-frac`.

## Files
- `layers.json`: the weighted layers in model order: `op` (linear), `weight_shape`,
  `weight_format` (signed, symmetric: codes in [-(2^(bits-1)-1), 2^(bits-1)-1]),
  `input_format` (signed or unsigned `bits`, `frac` fractional bits) and `acc_frac`
  (`weight_format.frac + input_format.frac`, the accumulators' fractional bits).
- `weights.npz`: int64 codes, `<layer>.weight` in PyTorch layout (out, in) and `<layer>.bias`
  already in the accumulator's scale.
- `masks.npz`: bool, True where a weight is nonzero (the zero-skipping schedule).
- `metadata.json`: per-layer configuration, the analytic hardware estimate (when a device was
  given: PE, SIMD, cycles and resources of every stage, attention and norms included).
- `vectors.npz`: for the first {samples} test sequences, `input.<layer>` (the layer's input
  codes, one row per token) and `output.<layer>` (golden accumulators).

## Arithmetic (exact)
`output[t, o] = bias[o] + sum_k weight[o, k] * input[t, k]` in wide integers. The layers between
them (attention, LayerNorm, softmax, residual adds) are not exported.
"""


def layer_to_json(layer: IntLayer) -> dict:
    return {
        "op": layer.kind,
        "name": layer.name,
        "weight_shape": list(layer.weight.shape),
        "stride": layer.stride,
        "padding": layer.padding,
        "weight_format": _fmt(layer.weight_format),
        "input_format": _fmt(layer.input_format),
        "acc_frac": layer.acc_frac,
    }


def export_layers(
    transformed: TransformedModel, x: torch.Tensor, out: str | Path, metadata: dict, title: str
) -> Path:
    """Write the layer-by-layer export (see `LAYERS_README`) of a transformed model; `x` are
    model inputs whose per-layer codes and accumulators become the test vectors."""
    layers = transformed.integer_layers()
    convs = [name for name, layer in layers.items() if layer.kind != "linear"]
    if convs:  # the vectors hold one row per token: linear inputs only
        raise NotImplementedError(
            f"{title}: the layer-by-layer export covers linear layers, not {convs}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = {"format_version": FORMAT_VERSION, "layers": [layer_to_json(v) for v in layers.values()]}
    (out / "layers.json").write_text(json.dumps(spec, indent=1))
    _save_weights(list(layers.values()), out)
    if x.is_floating_point():
        x = x.to(torch.float64)
    inputs = capture_inputs(transformed.quantized, list(layers), x)
    vectors = {}
    for name, layer in layers.items():
        codes = layer.input_format.fake_quant(inputs[name]).numpy().astype(np.int64)
        codes = codes.reshape(-1, codes.shape[-1])  # one row per token
        vectors[f"input.{name}"], vectors[f"output.{name}"] = codes, layer(codes)
    np.savez_compressed(out / "vectors.npz", **vectors)
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1, default=_jsonable))
    (out / "README.md").write_text(LAYERS_README.format(title=title, samples=len(x)))
    return out


def export_from_candidate(
    workload,
    candidate,
    out: str | Path,
    device: str | None = None,
    clock_mhz: float = 200.0,
    samples: int = 64,
    spec=None,
) -> Path:
    """Transform `workload`'s model with `candidate` and export it (layer by layer when it is
    not a chain). With a device, the folded hardware estimate and, for chains, the generated
    RTL (`rtl/`) are included. Pass the job's `spec` for a
    stored trial, so the export is built exactly as the trial was scored (fine-tuning too)."""
    from search.rtl_design import describe_accelerator, write_rtl
    from search.scoring import CandidateScorer
    from search.spec import JobSpec

    if spec is None:
        spec = JobSpec(
            name="export", model="digits-mlp", device=device or "zcu102", clock_mhz=clock_mhz
        ).model_copy(update={"model": workload.model_name})
    scorer = CandidateScorer(spec, workload)
    metadata: dict = {"model": workload.model_name, "candidate": candidate.model_dump()}
    title = f"{workload.model_name} candidate"
    if not isinstance(workload.model, nn.Sequential):
        transformed = scorer.build(candidate)
        if device is not None:
            metadata["hardware"] = scorer.lower(transformed).estimate.to_dict()
        metadata["layers"] = {n: c.model_dump() for n, c in transformed.configs.items()}
        n = min(samples, LAYERWISE_MAX_SAMPLES)
        x = workload.task.inputs(workload.dataset, "test", n)
        return export_layers(transformed, x, out, metadata, title)
    rtl_writer = None
    if device is None:
        transformed = scorer.build(candidate)
    else:
        accelerator = describe_accelerator(scorer, candidate)
        transformed = accelerator.transformed
        metadata["hardware"] = accelerator.lowered.estimate.to_dict()
        rtl_writer = lambda _network, rtl_dir: write_rtl(accelerator.design, rtl_dir)  # noqa: E731
    metadata["layers"] = {n: c.model_dump() for n, c in transformed.configs.items()}
    split = workload.dataset.test
    return export_candidate(
        transformed.integer_network,
        split.x[:samples],
        split.y[:samples],
        out,
        metadata,
        title,
        rtl_writer,
    )


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
