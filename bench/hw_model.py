"""Speed of the analytic hardware model (hw_models), with ratios against a naive baseline.

    .venv/bin/python bench/hw_model.py [--column-densities]

Networks (synthetic statistics, seeded):
  vgg6        6 3x3 convs (64, 64, 128, 128, 256, 256 channels) on 32x32x3, a 2x2 max-pool
              after every two convs, a 10-way linear classifier; ~50% random weight sparsity,
              ~50% activation density (90% for the image) with activation skipping and
              binomial window histograms; 4-bit weights and activations (at 8 bits its weights
              and frame buffers exceed 80% of the zcu102's BRAM even at PE = SIMD = 1).
  digits-mlp  64-64-32-10 linear, ReLU between, 50% weight sparsity, activation skipping.
With --column-densities every engine also carries a random density per column (Beta(2, 2)),
as the search's lowered networks do: the row-by-row expected-cycles path (SPEC section 5).

Measured (each also as a ratio against the naive baseline measured in the same process):
  * configuration evaluations per second: expected cycles + resources of one folding, on a
    prepared network, vectorised over a batch of random foldings and one at a time; the
    baseline evaluates each folding layer by layer (a Python loop calling the per-layer
    formulas for that one option).
  * milliseconds to fold one new candidate (vgg6 for a U250, digits-mlp for a zcu102;
    statistics tables and the pixel-parallelism options included); the
    baseline is a SetFolding greedy evaluating each step's two neighbouring options layer
    by layer.
numpy's BLAS runs on one thread, as in a search worker (search/phases.py).
Times are the fastest of several runs (the least disturbed by other processes); the fold
is also given in CPU time of this process, which other load on the machine hardly changes.
"""

import argparse
import dataclasses
import itertools
import time

import numpy as np
from threadpoolctl import threadpool_limits

from hw_models import LayerSpec, Network, PreparedNetwork, fold, get_device, prepare

# vgg6 on a U250: with the Yosys-calibrated engine costs its skipping engines at PE = SIMD = 1
# exceed the zcu102 (382k LUT); digits-mlp on the zcu102.
DEVICES = {"vgg6": "u250", "digits-mlp": "zcu102"}
N_CANDIDATES = 20_000  # random foldings per evaluation batch
N_BASELINE = 40  # foldings evaluated by the naive baseline


def _hist(k: int, density: float, windows: int, rng: np.random.Generator) -> np.ndarray:
    return np.bincount(rng.binomial(k, density, windows), minlength=k + 1).astype(float)


def vgg6(seed: int, bits: int = 4) -> Network:
    """The 6-conv VGG-like candidate described in the module docstring."""
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
                window_nnz_hist=_hist(9 * cin, density, size * size, rng),
            )
        )
        cin = cout
        if i % 2 == 1:
            layers.append(
                LayerSpec(
                    f"pool{i // 2 + 1}",
                    "maxpool",
                    (cout, size, size),
                    (cout, size // 2, size // 2),
                    kernel=2,
                    stride=2,
                    a_bits=bits,
                    out_bits=bits,
                )
            )
            size //= 2
    k = cin * size * size
    layers.append(
        LayerSpec(
            "fc",
            "linear",
            (k, 1, 1),
            (10, 1, 1),
            w_bits=bits,
            a_bits=bits,
            act_skip=True,
            weight_mask=rng.random((10, k)) < 0.5,
            act_density=0.5,
            window_nnz_hist=_hist(k, 0.5, 256, rng),
        )
    )
    return Network("vgg6", tuple(layers))


def digits_mlp(seed: int) -> Network:
    """The 64-64-32-10 MLP candidate described in the module docstring."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (k, m) in enumerate(itertools.pairwise((64, 64, 32, 10))):
        density = 0.9 if i == 0 else 0.5
        layers.append(
            LayerSpec(
                f"fc{i + 1}",
                "linear",
                (k, 1, 1),
                (m, 1, 1),
                input_signed=i == 0,
                act_skip=True,
                weight_mask=rng.random((m, k)) < 0.5,
                act_density=density,
                window_nnz_hist=_hist(k, density, 512, rng),
            )
        )
    return Network("digits-mlp", tuple(layers))


def _naive_option(p: PreparedNetwork, e: int, pe: int, simd: int) -> tuple[float, np.ndarray]:
    """Baseline: expected cycles and resources of one engine at one (PE, SIMD), from the
    per-layer formulas (no tables, no vectorisation over candidates)."""
    return p.reference_option(e, pe, simd)


def _naive_evaluate(p: PreparedNetwork, pe: np.ndarray, simd: np.ndarray):
    """Baseline evaluation of one folding: a Python loop over the layers."""
    cycles = p.stage_cycles_fixed.copy()
    res = p.fixed_resources.copy()
    for e in range(p.n_engines):
        c, r = _naive_option(p, e, int(pe[e]), int(simd[e]))
        cycles[p.engine_stage[e]] = c
        res += r
    return cycles.max(), res


def _naive_fold(net: Network, device: str) -> np.ndarray:
    """Baseline greedy (FINN SetFolding style): speed up the slowest engine with the cheaper
    of its next PE (divisor) or next SIMD (doubling) that fits, option by option."""
    p = PreparedNetwork(net, get_device(device))  # only for the fixed stages
    budget = get_device(device).budget()
    pe_i = np.zeros(p.n_engines, dtype=np.int64)
    simd_i = np.zeros(p.n_engines, dtype=np.int64)
    current = [_naive_option(p, e, 1, 1) for e in range(p.n_engines)]
    total = p.fixed_resources + sum(r for _, r in current)
    while True:
        e = int(np.argmax([c for c, _ in current]))
        steps = []
        if pe_i[e] + 1 < len(p.pes[e]):
            steps.append((pe_i[e] + 1, simd_i[e]))
        if simd_i[e] + 1 < len(p.simds[e]):
            steps.append((pe_i[e], simd_i[e] + 1))
        best = None
        for i, j in steps:
            c, r = _naive_option(p, e, int(p.pes[e][i]), int(p.simds[e][j]))
            new_total = total - current[e][1] + r
            if c < current[e][0] and np.all(new_total <= budget):
                cost = float((r / budget).sum())
                if best is None or cost < best[0]:
                    best = (cost, i, j, c, r, new_total)
        if best is None:
            return pe_i
        _, pe_i[e], simd_i[e], c, r, total = best
        current[e] = (c, r)


def _random_foldings(p: PreparedNetwork, n: int, rng: np.random.Generator):
    """Random option indices: (n, E) PE, SIMD, px of the engines and (n, U) px of the pixel
    stages (the baseline knows px = 1 only, and evaluates the same PE and SIMD)."""
    pe_i = np.stack([rng.integers(0, len(x), n) for x in p.pes], axis=1)
    simd_i = np.stack([rng.integers(0, len(x), n) for x in p.simds], axis=1)
    px_i = np.stack([rng.integers(0, len(x), n) for x in p.pxs], axis=1)
    stage_px_i = np.stack([rng.integers(0, len(x), n) for x in p.stage_pxs] or [[0] * n], 1)
    return pe_i, simd_i, px_i, stage_px_i[:, : p.n_pixel_stages]


def _best(fns, clock=time.perf_counter) -> float:
    """Fastest time of the calls in `fns` (the minimum is the least disturbed by other
    processes sharing the machine, as in `timeit`)."""
    best = np.inf
    for fn in fns:
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def bench(name: str, make) -> None:
    device = DEVICES[name]
    rng = np.random.default_rng(0)
    net = make(0)
    fold(net, device)  # warm caches (e.g. the normal-maximum table) before timing
    p = prepare(net, device)
    pe_i, simd_i, px_i, stage_px_i = _random_foldings(p, N_CANDIDATES, rng)
    batch = _best([lambda: p.evaluate(pe_i, simd_i, px_i, stage_px_i)] * 5) / N_CANDIDATES
    one = _best(
        [lambda i=i: p.evaluate(pe_i[i], simd_i[i], px_i[i], stage_px_i[i]) for i in range(200)]
    )
    pes = np.array([[p.pes[e][i] for e, i in enumerate(row)] for row in pe_i[:N_BASELINE]])
    simds = np.array([[p.simds[e][i] for e, i in enumerate(row)] for row in simd_i[:N_BASELINE]])
    naive = _best(
        [lambda a=a, b=b: _naive_evaluate(p, a, b) for a, b in zip(pes, simds, strict=True)]
    )
    print(f"{name}: {p.n_engines} engines, {len(p.stage_names)} stages")
    print(
        f"  evaluations/s  batched {1 / batch:12,.0f} ({naive / batch:,.0f}x baseline)   "
        f"one at a time {1 / one:9,.0f} ({naive / one:,.0f}x)   baseline {1 / naive:,.1f}/s"
    )
    candidates = [make(seed) for seed in range(1, 8)]  # new masks: nothing cached
    fresh = _best([lambda c=c: fold(c, device) for c in candidates])
    others = [make(seed) for seed in range(10, 17)]
    cpu = _best([lambda c=c: fold(c, device) for c in others], clock=time.process_time)
    prepared = _best([lambda: fold(candidates[0], device)] * 20)
    naive_fold = _best([lambda c=c: _naive_fold(c, device) for c in (make(8), make(9))])
    print(
        f"  fold for {device}: new candidate {fresh * 1e3:6.2f} ms wall, {cpu * 1e3:.2f} ms CPU "
        f"({naive_fold / fresh:,.1f}x faster than baseline {naive_fold * 1e3:,.1f} ms); "
        f"already prepared {prepared * 1e3:.2f} ms"
    )


def with_column_densities(make):
    """`make` with a random density per column of every engine (seeded like the network)."""

    def made(seed: int) -> Network:
        net, rng = make(seed), np.random.default_rng(seed + 1000)
        layers = tuple(
            dataclasses.replace(x, column_density=rng.beta(2.0, 2.0, x.weight_mask_shape[1:]))
            if x.weight_mask is not None
            else x
            for x in net.layers
        )
        return Network(net.name, layers)

    return made


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--column-densities", action="store_true")
    args = parser.parse_args()
    threadpool_limits(limits=1)
    for name, make in (("vgg6", vgg6), ("digits-mlp", digits_mlp)):
        bench(name, with_column_densities(make) if args.column_densities else make)
