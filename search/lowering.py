"""Lower a transformed candidate to the accelerator contract, once: network, folding, estimate.

    lowered = lower(transformed, stats, "digits-mlp", "auto", device, clock_mhz=200.0)
    lowered.network, lowered.folding, lowered.estimate     # typed hw_models objects

Chain models map one to one: Linear and Conv2d become engines, MaxPool2d a pool stage, and
flatten disappears (SPEC.md section 2). char-gpt maps to a transformer pipeline whose frame
is one whole sequence (`_transformer_network`). Activation skipping is as the job says; under
"auto" a layer skips when its measured input sparsity reaches `ACT_SKIP_MIN_SPARSITY` and the
folded design is not better without it (`_drop_unpaid_skipping`). The folding is chosen for
the device; a candidate that does not fit keeps the smallest folding, its estimate marked as
not fitting.
Everything downstream (scores, bundles, the RTL design, confirmation) reads this one result.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from torch import nn

import hw_models
from hw_models import LayerSpec, Network, sliding_window_size
from search.models.char_gpt import CharGPT
from search.transforms import LayerStats, QuantizedLayer, TransformedModel, TransformError

ACT_SKIP_MIN_SPARSITY = 0.2  # below this skipping saves too few cycles to be tried
# Width of the transformer tensors the search does not quantize (residual stream, LayerNorm
# inputs, q/k/v, attention scores and probabilities): the accuracy model keeps them in
# float, the hardware estimate prices them at this width.
TRANSFORMER_INTERNAL_BITS = 8
ActSkip = Literal["auto", "on", "off"]


def _act_skip(stats: LayerStats, policy: ActSkip) -> bool:
    if policy == "auto":
        return stats.act_sparsity >= ACT_SKIP_MIN_SPARSITY
    return policy == "on"


def _quantized_fields(q: QuantizedLayer, stats: LayerStats, policy: ActSkip) -> dict:
    """The LayerSpec fields an engine takes from its quantized layer and its statistics."""
    return {
        "w_bits": q.weight_format.bits,
        "a_bits": q.input_format.bits,
        "input_signed": q.input_format.signed,
        "act_skip": _act_skip(stats, policy),
        "act_density": 1.0 - stats.act_sparsity,
        "window_nnz_hist": stats.window_nnz_hist,
        "column_density": stats.column_density,
    }


def _engine(transformed: TransformedModel, stats: LayerStats, out_bits: int, policy: ActSkip):
    q = transformed.layers[stats.name]
    return LayerSpec(
        name=stats.name,
        kind=stats.kind,
        in_shape=stats.in_shape,
        out_shape=stats.out_shape,
        kernel=stats.kernel,
        stride=stats.stride,
        padding=stats.padding,
        out_bits=out_bits,
        weight_mask=q.weight != 0,
        window_counts=stats.window_counts,
        **_quantized_fields(q, stats, policy),
    )


def _token_engine(
    name: str,
    q: QuantizedLayer,
    stats: LayerStats,
    rows: slice,
    tokens: int,
    out_bits: int,
    policy: ActSkip,
    **links: str,
) -> LayerSpec:
    """A linear layer applied to every token of a sequence frame (C, T, 1): a 1x1 conv."""
    weight = q.weight[rows]
    fields = _quantized_fields(q, stats, policy)
    fields["column_density"] = fields["column_density"][:, None, None]  # (K,) as (cin, 1, 1)
    return LayerSpec(
        name=name,
        kind="conv2d",
        in_shape=(weight.shape[1], tokens, 1),
        out_shape=(weight.shape[0], tokens, 1),
        out_bits=out_bits,
        weight_mask=(weight != 0)[:, :, None, None],
        **fields,
        **links,
    )


def _transformer_network(
    transformed: TransformedModel, stats: dict[str, LayerStats], name: str, policy: ActSkip
) -> Network:
    """char-gpt as a pipeline over whole sequences: frames are (C, T, 1), T = block_size.

    The loader takes the embedded sequence. Per block: LayerNorm; the fused q/k/v projection
    as three engines `<c_attn>.q`, `.k`, `.v` reading the norm; per-head scores q k^T and
    probabilities times v as grouped matmuls (dense, causal zeros not skipped) around a
    softmax; the output projection; the residual add; then LayerNorm, MLP and residual add.
    A final LayerNorm feeds `lm_head`. Widths the search does not set are
    `TRANSFORMER_INTERNAL_BITS`.
    """
    config = transformed.float_model.config
    tokens, width, heads = config.block_size, config.n_embd, config.n_head
    inner = TRANSFORMER_INTERNAL_BITS
    frame = (width, tokens, 1)
    layers: list[LayerSpec] = []
    residual = None  # the stage holding the residual stream ("input" for the first block)

    def in_bits(layer: str) -> int:
        return transformed.layers[layer].input_format.bits

    def norm(stage: str, out_bits: int) -> LayerSpec:
        return LayerSpec(stage, "norm", frame, frame, a_bits=inner, out_bits=out_bits)

    for b in range(config.n_layer):
        p = f"blocks.{b}"
        attn, proj = f"{p}.attn.c_attn", f"{p}.attn.c_proj"
        fc, mlp_proj = f"{p}.mlp.c_fc", f"{p}.mlp.c_proj"
        qkv = transformed.layers[attn]
        scores = (heads * tokens, tokens, 1)
        layers += [
            norm(f"{p}.ln_1", in_bits(attn)),
            *(
                _token_engine(
                    f"{attn}.{part}",
                    qkv,
                    stats[attn],
                    slice(i * width, (i + 1) * width),
                    tokens,
                    inner,
                    policy,
                    source=f"{p}.ln_1",
                )
                for i, part in enumerate("qkv")
            ),
            LayerSpec(
                f"{p}.attn.scores",
                "matmul",
                frame,
                scores,
                w_bits=inner,
                a_bits=inner,
                out_bits=inner,
                input_signed=True,
                groups=heads,
                source=f"{attn}.q",
                second_input=f"{attn}.k",
            ),
            LayerSpec(f"{p}.attn.softmax", "softmax", scores, scores, a_bits=inner, groups=heads),
            LayerSpec(
                f"{p}.attn.attend",
                "matmul",
                scores,
                frame,
                w_bits=inner,
                a_bits=inner,
                out_bits=in_bits(proj),
                groups=heads,
                second_input=f"{attn}.v",
                second_transposed=True,
            ),
            _token_engine(
                proj, transformed.layers[proj], stats[proj], slice(None), tokens, inner, policy
            ),
            LayerSpec(
                f"{p}.residual_1",
                "add",
                frame,
                frame,
                a_bits=inner,
                out_bits=inner,
                second_input=residual or "input",
            ),
            norm(f"{p}.ln_2", in_bits(fc)),
            _token_engine(
                fc,
                transformed.layers[fc],
                stats[fc],
                slice(None),
                tokens,
                in_bits(mlp_proj),
                policy,
            ),
            _token_engine(
                mlp_proj,
                transformed.layers[mlp_proj],
                stats[mlp_proj],
                slice(None),
                tokens,
                inner,
                policy,
            ),
            LayerSpec(
                f"{p}.residual_2",
                "add",
                frame,
                frame,
                a_bits=inner,
                out_bits=inner,
                second_input=f"{p}.residual_1",
            ),
        ]
        residual = f"{p}.residual_2"
    head = transformed.layers["lm_head"]
    layers += [
        norm("ln_f", in_bits("lm_head")),
        _token_engine("lm_head", head, stats["lm_head"], slice(None), tokens, 32, policy),
    ]
    return Network(name=name, layers=tuple(layers))


def stages_of(stage_names: Iterable[str], layer: str) -> tuple[str, ...]:
    """The stages implementing model layer `layer`: itself, or its parts (`<layer>.q`, ...)
    when one weight matrix is split across engines."""
    names = tuple(stage_names)
    return (layer,) if layer in names else tuple(n for n in names if n.startswith(layer + "."))


def network_from_transformed(
    transformed: TransformedModel,
    stats: dict[str, LayerStats],
    name: str,
    act_skip: ActSkip = "auto",
) -> Network:
    """The contract network of a transformed model: chains stage for stage, char-gpt as a
    transformer pipeline. Raises TransformError for a model that lowers neither way."""
    model = transformed.float_model
    if isinstance(model, CharGPT):
        return _transformer_network(transformed, stats, name, act_skip)
    if not isinstance(model, nn.Sequential):
        raise TransformError(
            f"{name}: only nn.Sequential models and char-gpt lower to the accelerator; "
            f"{type(model).__name__} is neither"
        )
    weighted = list(transformed.layers)
    layers: list[LayerSpec] = []
    shape = None  # (C, H, W) flowing between stages
    bits = None
    for child_name, module in model.named_children():
        if child_name in transformed.layers:
            s = stats[child_name]
            position = weighted.index(child_name)
            is_last = position == len(weighted) - 1
            next_bits = (
                32 if is_last else transformed.layers[weighted[position + 1]].input_format.bits
            )
            layers.append(_engine(transformed, s, next_bits, act_skip))
            shape, bits = s.out_shape, next_bits
        elif isinstance(module, nn.MaxPool2d):
            k, stride, padding = (
                v if isinstance(v, int) else v[0]
                for v in (module.kernel_size, module.stride, module.padding)
            )
            c, h, w = shape
            out = (c, *(sliding_window_size(x, k, stride, padding) for x in (h, w)))
            window = {"kernel": k, "stride": stride, "padding": padding}
            layers.append(
                LayerSpec(child_name, "maxpool", shape, out, a_bits=bits, out_bits=bits, **window)
            )
            shape = out
    return Network(name=name, layers=tuple(layers))


@dataclass(frozen=True, eq=False)
class Lowered:
    """A candidate as the accelerator contract sees it: the network, its estimate (folding
    included) and the statistics the network was built from."""

    network: Network
    estimate: hw_models.Estimate
    stats: dict[str, LayerStats]

    @property
    def folding(self) -> hw_models.Folding:
        return self.estimate.folding

    @cached_property
    def stages(self) -> dict[str, hw_models.StageEstimate]:
        """Each stage's estimate (folding, expected cycles, resources) by name, in pipeline
        order (the loader is "input")."""
        return {stage.name: stage for stage in self.estimate.stages}


def lower(
    transformed: TransformedModel,
    stats: dict[str, LayerStats],
    name: str,
    act_skip: ActSkip,
    device: hw_models.Device,
    clock_mhz: float,
) -> Lowered:
    """The contract network of `transformed`, folded for `device` (the smallest folding, not
    fitting, when no folding fits), and its estimate."""
    network = network_from_transformed(transformed, stats, name, act_skip)
    estimate = _estimate(network, device, clock_mhz)
    if act_skip == "auto":
        network, estimate = _drop_unpaid_skipping(network, estimate, device, clock_mhz)
    return Lowered(network, estimate, stats)


def _estimate(network: Network, device: hw_models.Device, clock_mhz: float) -> hw_models.Estimate:
    try:
        return hw_models.estimate(network, device, clock_mhz)
    except hw_models.DoesNotFitError:
        # still report the real numbers of the smallest design, marked as not fitting
        return hw_models.estimate(network, device, clock_mhz, hw_models.Folding.minimal(network))


def _better(a: hw_models.Estimate, b: hw_models.Estimate) -> bool:
    """Whether design `a` beats `b`: it fits where `b` does not, else it is faster, else as
    fast on fewer LUTs."""
    if a.fits != b.fits:
        return a.fits
    if a.throughput_fps != b.throughput_fps:
        return a.throughput_fps > b.throughput_fps
    return a.resources["lut"] < b.resources["lut"]


def _drop_unpaid_skipping(
    network: Network,
    estimate: hw_models.Estimate,
    device: hw_models.Device,
    clock_mhz: float,
) -> tuple[Network, hw_models.Estimate]:
    """The "auto" policy's second half: activation skipping saves cycles but its compaction
    logic costs LUTs that folding could spend on parallelism instead, so each skipping engine
    in turn (one pass, pipeline order) keeps skipping only if the design without it is not
    better (`_better`, each folded under the device budget)."""
    for i, layer in enumerate(network.layers):
        if not layer.act_skip:
            continue
        layers = list(network.layers)
        layers[i] = replace(layer, act_skip=False)
        trial = Network(network.name, tuple(layers))
        trial_estimate = _estimate(trial, device, clock_mhz)
        if _better(trial_estimate, estimate):
            network, estimate = trial, trial_estimate
    return network, estimate
