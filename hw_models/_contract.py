"""Constants of the accelerator contract (SPEC.md) shared by hw_models and rtl/.

Every number here is part of the cycle-exact contract: the RTL generator reads them from this
module, and Verilator simulation checks that the RTL takes exactly the cycles the formulas in
`_cycles.py` predict. Change one only together with the RTL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._network import LayerSpec

# Stages overlap consecutive frames and windows (SPEC section 4): a stage's steady-state
# interval is its work, and these cycles show only in latency.
# Cycles from an engine's start to its first vector entering the lanes (window 0 is read from
# the input buffer, one cycle of registered read).
ENGINE_FILL = 1
# Cycles from an engine's last compute cycle of a frame to its done pulse: multiply, adder
# tree and accumulate, requantize into the pixel register, write the last output pixel.
ENGINE_DRAIN = 5
# Cycles from a fixed stage's (max-pool, add, norm, softmax) release of its input to its done
# pulse: the last window's maximum is registered and written.
FIXED_DRAIN = 2
# Cycles from a stage's `done` to the next stage's `start` on the same frame (registered
# handshake across the ping-pong buffer).
HANDOFF = 1
# Frames a buffer between neighbouring stages holds: ping-pong by default; a third frame
# lets the producer run one more frame ahead, for short stages whose fill and drain do not
# fit two (SPEC section 4). hws_pingpong implements both.
DEFAULT_BANKS = 2
BANK_OPTIONS = (2, 3)
# The loader writes one pixel (all channels) of the input frame per cycle.
LOADER_PIXELS_PER_CYCLE = 1

# Layer kinds. Engine kinds are matrix-vector engines with PE lanes and SIMD multipliers.
ENGINE_KINDS = ("linear", "conv2d", "matmul")
WEIGHTED_KINDS = ("linear", "conv2d")
TWO_INPUT_KINDS = ("add", "matmul")
# Per-pixel normalisations over the channels: LayerNorm ("norm") and softmax (within
# `groups` channel groups, one per attention head). Two passes over the frame: statistics,
# then normalised values (SPEC section 2).
NORM_KINDS = ("norm", "softmax")
NORM_PASSES = 2
FIXED_KINDS = ("maxpool", "add", *NORM_KINDS)
GROUPED_KINDS = ("matmul", "softmax")
LAYER_KINDS = ("linear", "conv2d", "maxpool", "add", "matmul", *NORM_KINDS)
# Name by which a two-input layer refers to the network input (the loader's frame).
INPUT_NAME = "input"


def sliding_window_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output rows/cols of a sliding window (PyTorch Conv2d/MaxPool2d, dilation 1)."""
    return (size + 2 * padding - kernel) // stride + 1


def weight_store(layer: LayerSpec) -> str:
    """An engine's weight memory layout (SPEC section 6), the one rule the cost model and the
    RTL share: "operand" for a matmul (its B is a frame, not weights), "skip" with activation
    skipping, "sparse" when some weight is zero, else "dense" (FINN's lockstep layout)."""
    if layer.kind == "matmul":
        return "operand"
    if layer.act_skip:
        return "skip"
    return "sparse" if int(layer.row_nnz.min()) < layer.fan_in else "dense"


def accumulator_bits(w_bits: int, a_bits: int, k: int, input_signed: bool) -> int:
    """Signed accumulator width that can never overflow (SPEC section 1).

    Weights are symmetric, `|w| <= 2^(w_bits-1) - 1`; activations are unsigned
    `[0, 2^a_bits - 1]` or signed `[-2^(a_bits-1), 2^(a_bits-1) - 1]`. A sum of `k` products
    is bounded by `k * max|w| * max|x|`, and the bias is clamped (by search/) to the same
    bound, so `|acc| <= 2 * k * max|w| * max|x|`. A two's complement width `b` holds
    `[-B, B]` iff `2^(b-1) > B`. This is the exact data-type bound of Colbert et al.,
    "Quantized neural networks with guaranteed overflow avoidance" (arXiv 2301.13376),
    which FINN uses for MVAU accumulators, plus one bit for the bias.

    Args:
        w_bits: weight width (>= 2; a 1-bit symmetric weight can only be zero).
        a_bits: input activation width (>= 1).
        k: number of products per output (the layer's fan-in, `in_features` or `K*K*Cin`).
        input_signed: True when the activations are signed (the network input).

    Returns:
        The accumulator width in bits.
    """
    if w_bits < 2 or a_bits < 1 or k < 1:
        raise ValueError(
            f"accumulator_bits needs w_bits>=2, a_bits>=1, k>=1, got "
            f"w_bits={w_bits}, a_bits={a_bits}, k={k}"
        )
    w_max = 2 ** (w_bits - 1) - 1
    x_max = 2 ** (a_bits - 1) if input_signed else 2**a_bits - 1
    bound = 2 * k * w_max * x_max
    return bound.bit_length() + 1
