"""Layer and network factories for the hw_models tests (random masks from a given rng)."""

import itertools

import numpy as np

from hw_models import LayerSpec, Network


def binomial_hist(k: int, density: float, n_windows: int, rng: np.random.Generator) -> np.ndarray:
    """Synthetic window histogram: counts of windows with j of k activations nonzero."""
    counts = rng.binomial(k, density, size=n_windows)
    return np.bincount(counts, minlength=k + 1).astype(float)


def conv(
    name: str,
    cin: int,
    cout: int,
    size: int,
    rng: np.random.Generator,
    *,
    weight_density: float = 0.5,
    act_density: float = 0.5,
    act_skip: bool = True,
    input_signed: bool = False,
    hist: bool = True,
    bits: int = 8,
) -> LayerSpec:
    """3x3, stride 1, padding 1 conv on a size x size frame with a random weight mask."""
    return LayerSpec(
        name,
        "conv2d",
        (cin, size, size),
        (cout, size, size),
        kernel=3,
        padding=1,
        w_bits=bits,
        a_bits=bits,
        out_bits=bits,
        input_signed=input_signed,
        act_skip=act_skip,
        weight_mask=rng.random((cout, cin, 3, 3)) < weight_density,
        act_density=act_density,
        window_nnz_hist=binomial_hist(9 * cin, act_density, size * size, rng) if hist else None,
    )


def linear(
    name: str,
    k: int,
    m: int,
    rng: np.random.Generator,
    *,
    weight_density: float = 0.5,
    act_density: float = 0.5,
    act_skip: bool = False,
    input_signed: bool = False,
    bits: int = 8,
) -> LayerSpec:
    """Linear layer K -> M with a random weight mask."""
    return LayerSpec(
        name,
        "linear",
        (k, 1, 1),
        (m, 1, 1),
        w_bits=bits,
        a_bits=bits,
        out_bits=bits,
        input_signed=input_signed,
        act_skip=act_skip,
        weight_mask=rng.random((m, k)) < weight_density,
        act_density=act_density,
    )


def maxpool(name: str, ch: int, size: int, bits: int = 8) -> LayerSpec:
    """2x2, stride 2 max-pool."""
    half = size // 2
    return LayerSpec(
        name, "maxpool", (ch, size, size), (ch, half, half), kernel=2, stride=2,
        a_bits=bits, out_bits=bits,
    )  # fmt: skip


def mlp(rng: np.random.Generator, dims: tuple[int, ...], **kwargs) -> Network:
    """Chain of linear layers dims[0] -> dims[1] -> ... (the first takes signed input)."""
    layers = tuple(
        linear(f"fc{i + 1}", k, m, rng, input_signed=i == 0, **kwargs)
        for i, (k, m) in enumerate(itertools.pairwise(dims))
    )
    return Network("mlp", layers)


def small_cnn(
    rng: np.random.Generator, channels: tuple[int, int] = (8, 16), size: int = 8, **kwargs
) -> Network:
    """conv -> conv -> maxpool -> linear(10) on a 3-channel size x size input."""
    c1, c2 = channels
    layers = (
        conv("conv1", 3, c1, size, rng, input_signed=True, **kwargs),
        conv("conv2", c1, c2, size, rng, **kwargs),
        maxpool("pool", c2, size),
        linear("fc", c2 * (size // 2) ** 2, 10, rng, act_skip=True),
    )
    return Network("cnn", layers)
