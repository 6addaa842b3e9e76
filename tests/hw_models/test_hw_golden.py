"""Pinned results: every cycle count, resource number and chosen folding of a set of seeded
networks (VGG-like and MLP candidates of bench/hw_model.py, two-input stages, random small
networks) must stay what `hw_golden.json.gz` recorded (floats to `FLOAT_REL_TOL`). It was
written by the package as it was before the fold-time optimisation of `prepare` (issue 3):
speed-ups must not change any number, nor which options a call computes together (a sequence
of calls on one network is pinned too).

Regenerate only when a model change is intended:

    .venv/bin/python -m tests.hw_models.test_hw_golden --write
"""

import gzip
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from hw_models import (
    DoesNotFitError,
    Folding,
    LayerSpec,
    Network,
    PreparedNetwork,
    estimate,
    exact_stage_cycles,
    expected_stage_cycles,
    fold,
    get_device,
    prepare,
)
from tests.hw_models.hw_factories import binomial_hist, conv, linear, maxpool, mlp, small_cnn

GOLDEN = Path(__file__).with_name("hw_golden.json.gz")
# numpy's SIMD exp/log kernels differ in the last bits between CPUs (AVX2 or AVX-512 code
# paths) and releases, and expected cycles combine thousands of such terms (seen: up to 5e-7
# relative on an AMD EPYC without AVX-512 against the machine that wrote the file, with
# numpy 2.3.5 and 2.4.6 alike); a real change of the model moves a result by far more.
FLOAT_REL_TOL = 1e-6
DEVICES = ("zcu102", "pynq-z2", "kv260")


def vgg6(seed: int, bits: int = 4) -> Network:
    """The 6-conv VGG-like candidate of bench/hw_model.py (same generator, same seeds)."""
    rng = np.random.default_rng(seed)
    layers, cin, size = [], 3, 32
    for i, cout in enumerate((64, 64, 128, 128, 256, 256)):
        density = 0.9 if i == 0 else 0.5
        layers.append(
            LayerSpec(
                f"conv{i + 1}",
                "conv2d",
                (cin, size, size),
                (cout, size, size),
                kernel=3,
                padding=1,
                w_bits=bits,
                a_bits=bits,
                out_bits=bits,
                input_signed=i == 0,
                act_skip=True,
                weight_mask=rng.random((cout, cin, 3, 3)) < 0.5,
                act_density=density,
                window_nnz_hist=binomial_hist(9 * cin, density, size * size, rng),
            )
        )
        cin = cout
        if i % 2 == 1:
            layers.append(maxpool(f"pool{i // 2 + 1}", cout, size, bits))
            size //= 2
    k = cin * size * size
    mask = rng.random((10, k)) < 0.5
    hist = binomial_hist(k, 0.5, 256, rng)
    fc = LayerSpec(
        "fc", "linear", (k, 1, 1), (10, 1, 1), w_bits=bits, a_bits=bits, act_skip=True,
        weight_mask=mask, act_density=0.5, window_nnz_hist=hist,
    )  # fmt: skip
    return Network("vgg6", (*layers, fc))


def digits_mlp(seed: int) -> Network:
    """The 64-64-32-10 MLP of bench/hw_model.py."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (k, m) in enumerate(itertools.pairwise((64, 64, 32, 10))):
        density = 0.9 if i == 0 else 0.5
        layers.append(
            LayerSpec(
                f"fc{i + 1}", "linear", (k, 1, 1), (m, 1, 1), input_signed=i == 0, act_skip=True,
                weight_mask=rng.random((m, k)) < 0.5, act_density=density,
                window_nnz_hist=binomial_hist(k, density, 512, rng),
            )
        )  # fmt: skip
    return Network("digits-mlp", tuple(layers))


def attention(seed: int) -> Network:
    """1x1 convs, an add and a matmul (two-input stages, operand memory)."""
    rng = np.random.default_rng(seed)
    q = LayerSpec(
        "q", "conv2d", (8, 4, 1), (8, 4, 1), weight_mask=rng.random((8, 8, 1, 1)) < 0.7,
        act_skip=True, act_density=0.6,
    )  # fmt: skip
    k = LayerSpec("k", "conv2d", (8, 4, 1), (8, 4, 1))
    add = LayerSpec("add", "add", (8, 4, 1), (8, 4, 1), second_input="q")
    att = LayerSpec("att", "matmul", (8, 4, 1), (4, 4, 1), second_input="k")
    return Network("attn", (q, k, add, att))


def random_network(seed: int) -> Network:
    """Small MLPs and CNNs with varied sparsity, skipping, widths and histograms."""
    rng = np.random.default_rng(seed)
    if seed % 2 == 0:
        dims = tuple(int(d) for d in rng.choice([8, 12, 16, 32, 64, 96, 128], rng.integers(2, 5)))
        return mlp(
            rng,
            dims,
            weight_density=float(rng.uniform(0.05, 1.0)),
            act_density=float(rng.uniform(0.05, 1.0)),
            act_skip=bool(rng.random() < 0.7),
            bits=int(rng.integers(2, 9)),
        )
    c1, c2 = int(rng.choice([4, 8, 16, 24])), int(rng.choice([8, 16, 32, 48]))
    size, bits = int(rng.choice([4, 8])), int(rng.choice([3, 4, 6, 8]))
    kw = dict(
        weight_density=float(rng.choice([0.1, 0.3, 0.5, 0.9, 1.0])),
        act_density=float(rng.uniform(0.05, 0.95)),
        act_skip=bool(rng.random() < 0.7),
        hist=bool(rng.random() < 0.6),
        bits=bits,
    )
    if seed % 4 == 1:  # the test factory's network (8-bit)
        return small_cnn(rng, (c1, c2), size=size, **{**kw, "bits": 8})
    layers = (
        conv("conv1", 3, c1, size, rng, input_signed=True, **kw),
        conv("conv2", c1, c2, size, rng, **kw),
        maxpool("pool", c2, size, bits),
        linear("fc", c2 * (size // 2) ** 2, 10, rng, act_skip=kw["act_skip"], bits=bits),
    )
    return Network("cnn", layers)


def wide_conv(seed: int) -> Network:
    """Convs of many output channels (many PE options and lanes), one without skipping."""
    rng = np.random.default_rng(seed)
    layers = (
        conv("c1", 3, 48, 8, rng, input_signed=True, weight_density=0.8, act_density=0.9, bits=4),
        conv("c2", 48, 96, 8, rng, weight_density=0.2, act_density=0.3, hist=False, bits=4),
        conv("c3", 96, 96, 8, rng, act_skip=False, weight_density=0.4, bits=4),
        maxpool("p", 96, 8, bits=4),
        linear("fc", 96 * 16, 12, rng, act_skip=True, act_density=0.4, bits=4),
    )
    return Network("wide", layers)


CASES = {
    **{f"vgg6-{s}": (lambda s=s: vgg6(s)) for s in (0, 1)},
    "vgg6-8bit": lambda: vgg6(2, bits=8),
    **{f"digits-{s}": (lambda s=s: digits_mlp(s)) for s in (0, 1)},
    "attention": lambda: attention(0),
    "wide": lambda: wide_conv(0),
    **{f"random-{s}": (lambda s=s: random_network(s)) for s in range(12)},
}


def _floats(a) -> list:
    """Exact JSON form of an array (floats round-trip through repr; NaN and inf allowed)."""
    return np.asarray(a, dtype=np.float64).tolist()


def _fold_or_error(fn):
    try:
        return fn()
    except (DoesNotFitError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


def _folding(f: Folding) -> list:
    return [list(x) for x in f.layers]


def snapshot(name: str) -> dict:
    """Every number the package computes for one case: folds on each device (both modes, on
    a fresh network, so prepare runs as search/ calls it), estimates, the lazily filled
    option tables fold leaves behind, the full tables, expected and exact stage cycles."""
    make = CASES[name]
    out: dict = {}
    for device in DEVICES:
        net = make()
        d: dict = {}
        mt = _fold_or_error(lambda net=net, device=device: fold(net, device))
        d["fold"] = mt if isinstance(mt, str) else _folding(mt)
        if not isinstance(mt, str):
            est = estimate(net, device, folding=mt)
            d["estimate"] = est.to_dict()
            p = prepare(net, device)
            lazy = p.cycles.copy()  # fold computes only the options that can fit
            # ... and every SIMD option of their PE options once asked for (these are the
            # tables the first version left behind after fold)
            p.ensure_affordable(get_device(device).budget())
            computed = ~np.isnan(lazy)
            assert np.array_equal(lazy[computed], p.cycles[computed])
            d["cycles"] = _floats(p.cycles)
            d["resources"] = _floats(p.resources)
            for frac in (0.3, 0.9):
                target = est.throughput_fps * frac
                mr = _fold_or_error(
                    lambda net=net, device=device, target=target: fold(
                        net, device, mode="min_resources", target_fps=target
                    )
                )
                d[f"min_resources_{frac}"] = mr if isinstance(mr, str) else _folding(mr)
        for cap in (0.3, 1.0):
            f = _fold_or_error(
                lambda net=net, device=device, cap=cap: fold(make(), device, max_utilisation=cap)
            )
            d[f"fold_cap_{cap}"] = f if isinstance(f, str) else _folding(f)
        out[device] = d
    # tables computed all at once, one PE option at a time, and on demand by evaluate
    net = make()
    full = PreparedNetwork(net, get_device("zcu102"))
    for e in range(full.n_engines):
        full.ensure(e, np.arange(len(full.pes[e])))
    out["full_cycles"] = _floats(full.cycles)
    out["full_resources"] = _floats(full.resources)
    rng = np.random.default_rng(7)
    net = make()
    lazy = PreparedNetwork(net, get_device("u250"))
    pe_i = np.stack([rng.integers(0, len(x), 6) for x in lazy.pes], axis=1)
    simd_i = np.stack([rng.integers(0, len(x), 6) for x in lazy.simds], axis=1)
    ev = lazy.evaluate(pe_i, simd_i)
    out["evaluate"] = [_floats(ev.stage_cycles), _floats(ev.resources)]
    single = []
    for row_pe, row_simd in zip(pe_i[:3], simd_i[:3], strict=True):
        folding = lazy.folding(row_pe, row_simd)
        single.append(_floats(expected_stage_cycles(make(), folding)))
        single.append(_floats(lazy.evaluate(row_pe, row_simd).stage_cycles))
    out["expected_stage_cycles"] = single
    if sum(layer.fan_in * layer.n_vectors for layer in net.engines) < 200_000:
        masks = {
            layer.name: rng.random((2, *layer.in_shape)) < layer.act_density
            for layer in net.engines
            if layer.act_skip
        }
        folding = lazy.folding(pe_i[0], simd_i[0])
        out["exact"] = exact_stage_cycles(net, folding, masks, n_frames=2).tolist()
    out["history"] = _history(make())
    return out


def _history(net: Network) -> list:
    """A sequence of calls on one network: which options a call computes, and with which
    others, can depend on the earlier calls (on any device), and the numbers with them."""
    rng = np.random.default_rng(11)
    out: list = []
    for device, cap, call in (
        ("kv260", 1.0, "fold"),
        ("zcu102", 0.3, "min_resources"),
        ("zcu102", 1.0, "fold"),
        ("pynq-z2", 0.5, "evaluate"),
        ("zcu102", 0.1, "min_resources"),
        ("pynq-z2", 1.0, "fold"),
        ("kv260", 0.5, "expected"),
        ("pynq-z2", 0.3, "min_resources"),
        ("zcu102", 0.8, "evaluate"),
        ("kv260", 0.2, "fold"),
    ):
        p = prepare(net, device)
        if call == "fold":
            f = _fold_or_error(lambda d=device, c=cap: fold(net, d, max_utilisation=c))
            out.append(f if isinstance(f, str) else estimate(net, device, folding=f).to_dict())
        elif call == "min_resources":
            fast = _fold_or_error(lambda device=device: estimate(net, device))
            if not isinstance(fast, str):
                target = fast.throughput_fps * float(rng.uniform(0.2, 1.0))
                f = _fold_or_error(
                    lambda device=device, cap=cap, target=target: fold(
                        net, device, mode="min_resources", target_fps=target, max_utilisation=cap
                    )
                )
                out.append(f if isinstance(f, str) else _folding(f))
        elif call == "evaluate":
            pe_i = np.stack([rng.integers(0, len(x), 4) for x in p.pes], axis=1)
            simd_i = np.stack([rng.integers(0, len(x), 4) for x in p.simds], axis=1)
            ev = p.evaluate(pe_i, simd_i)
            out.append([_floats(ev.stage_cycles), _floats(ev.resources)])
        else:
            pe_i = [int(rng.integers(0, len(x))) for x in p.pes]
            simd_i = [int(rng.integers(0, len(x))) for x in p.simds]
            f = p.folding(np.array(pe_i), np.array(simd_i))
            out.append(_floats(expected_stage_cycles(net, f)))
    return out


def _load() -> dict:
    with gzip.open(GOLDEN, "rt") as f:
        return json.load(f)


def _differences(actual, expected, path: str) -> list[str]:
    """Paths where two JSON values differ (floats to FLOAT_REL_TOL, NaN equal to NaN)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(actual) != set(expected):
            return [f"{path}: keys {sorted(actual)} != {sorted(expected)}"]
        return [d for k in expected for d in _differences(actual[k], expected[k], f"{path}.{k}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return [f"{path}: length {len(actual)} != {len(expected)}"]
        return [
            d
            for i, (a, e) in enumerate(zip(actual, expected, strict=True))
            for d in _differences(a, e, f"{path}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(actual, float):
        if math.isclose(actual, expected, rel_tol=FLOAT_REL_TOL) or (
            math.isnan(actual) and math.isnan(expected)
        ):
            return []
        return [f"{path}: {actual!r} != {expected!r}"]
    if type(actual) is not type(expected) or actual != expected:
        return [f"{path}: {actual!r} != {expected!r}"]
    return []


@pytest.mark.parametrize("name", sorted(CASES))
def test_results_match_the_pinned_snapshot(name):
    actual = json.loads(json.dumps(snapshot(name)))  # the same float and key normalisation
    diff = _differences(actual, _load()[name], name)
    assert not diff, f"{len(diff)} results changed, first: " + "; ".join(diff[:5])


def test_snapshot_covers_every_case():
    assert set(_load()) == set(CASES)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.hw_models.test_hw_golden --write")
    with gzip.open(GOLDEN, "wt") as f:
        json.dump({name: snapshot(name) for name in sorted(CASES)}, f)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)")
