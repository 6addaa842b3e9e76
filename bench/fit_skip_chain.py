"""Refit the activation-skip chain's LUT coefficients from a bench/synth.py run.

    .venv/bin/python bench/synth.py --json synth.json
    .venv/bin/python bench/fit_skip_chain.py synth.json

The chain's LUTs (hw_models/_coefficients.py, SPEC section 6) are, per lane,
`live columns * (w + a) * (1 + MASK_KIND_WEIGHT * log2(mask kinds))
 * (COLUMN_BIT + SLOT_BIT * SIMD)`. The model is linear in COLUMN_BIT and SLOT_BIT at a fixed
mask-kind weight, so each design's estimate is `rest + COLUMN_BIT * f_column + SLOT_BIT *
f_slot`, with the two features read off the model itself (estimates at unit coefficients).
For each mask-kind weight on a grid, non-negative least squares on the relative LUT error of
the suite's skipping designs that are NOT held back gives the two coefficients; the weight with
the smallest relative RMS error wins. Held-back designs are printed with the result for
information only: they never choose anything.
"""

import argparse
import importlib.util
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# This script lives in bench/: keep that folder off sys.path so packages resolve to the repo
# (bench/search.py would shadow the search package); bench/synth.py is loaded by its path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402

from hw_models import _coefficients as coefficients  # noqa: E402

_spec = importlib.util.spec_from_file_location("synth_suite", Path(__file__).with_name("synth.py"))
synth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth)

KIND_WEIGHTS = np.round(np.arange(0.0, 1.51, 0.05), 2)


@contextmanager
def chain_coefficients(column: float, slot: float, kind_weight: float):
    """The model's chain coefficients set for the duration (restored after)."""
    names = ("COMPACT_LUTS_PER_COLUMN_BIT", "COMPACT_LUTS_PER_SLOT_BIT", "COMPACT_MASK_KIND_WEIGHT")
    saved = [getattr(coefficients, n) for n in names]
    for name, value in zip(names, (column, slot, kind_weight), strict=True):
        setattr(coefficients, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved, strict=True):
            setattr(coefficients, name, value)


def lut_estimate(case, column: float, slot: float, kind_weight: float) -> float:
    """The model's LUTs of `case` at these chain coefficients. The design is built afresh:
    hw_models caches a network's resource tables while the network object lives."""
    with chain_coefficients(column, slot, kind_weight):
        return synth.estimate(case.design())["total"]["lut"]


def features(case, kind_weight: float) -> tuple[float, float, float]:
    """(estimate without the chain, its column-step feature, its slot-step feature)."""
    rest = lut_estimate(case, 0.0, 0.0, kind_weight)
    return (
        rest,
        lut_estimate(case, 1.0, 0.0, kind_weight) - rest,
        lut_estimate(case, 0.0, 1.0, kind_weight) - rest,
    )


def skips(design) -> bool:
    """Whether some engine of `design` has the skip layout (the only one with a chain)."""
    return any(design.weight_store(layer.name) == "skip" for layer in design.network.engines)


def fit(rows: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, float]:
    """NNLS on relative error over rows of (rest, f_column, f_slot, yosys LUTs): the two
    coefficients and the relative RMS error."""
    data = np.array(rows, dtype=float)
    rest, yosys = data[:, 0], data[:, 3]
    a, b = data[:, 1:3] / yosys[:, None], (yosys - rest) / yosys
    # non-negative least squares in two unknowns: the free solution if both are >= 0, else
    # the better of the two one-coefficient fits
    free = np.linalg.lstsq(a, b, rcond=None)[0]
    single = [np.where(np.arange(2) == i, max(0.0, (a[:, i] @ b) / (a[:, i] @ a[:, i])), 0.0)
              for i in range(2)]  # fmt: skip
    candidates = [free] if (free >= 0).all() else single
    coef = min(candidates, key=lambda c: float(np.sum((a @ c - b) ** 2)))
    rel = a @ coef - b
    return coef, float(np.sqrt(np.mean(rel**2)))


@dataclass(frozen=True)
class ChainFit:
    """The fitted coefficients, the fit's relative RMS error, and each design's features."""

    kind_weight: float
    column: float
    slot: float
    rms: float
    features: dict[str, tuple[float, float, float]]

    def estimate(self, name: str) -> float:
        rest, f_column, f_slot = self.features[name]
        return rest + self.column * f_column + self.slot * f_slot


def fits(cases: list, measured: dict[str, int], kind_weights: np.ndarray) -> list[ChainFit]:
    """One fit per mask-kind weight, on the skipping cases that are not held back."""
    skipping = [c for c in cases if skips(c.design())]
    fitting = [c for c in skipping if not c.held_back]
    if not fitting:
        raise ValueError("no fitting (not held-back) skipping design measured")
    out = []
    for weight in kind_weights:
        table = {c.name: features(c, float(weight)) for c in skipping}
        (column, slot), rms = fit([(*table[c.name], measured[c.name]) for c in fitting])
        out.append(ChainFit(float(weight), float(column), float(slot), rms, table))
    return out


def fit_chain(
    cases: list, measured: dict[str, int], kind_weights: np.ndarray = KIND_WEIGHTS
) -> ChainFit:
    """The best fit over `kind_weights` on the skipping cases that are not held back."""
    return min(fits(cases, measured, kind_weights), key=lambda f: f.rms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the --json output of bench/synth.py")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())["results"]
    measured = {r["design"]: r["yosys"]["lut"] for r in results}
    cases = [c for c in synth.suite() if c.name in measured]
    shipped_weight = coefficients.COMPACT_MASK_KIND_WEIGHT
    try:
        every = fits(cases, measured, np.union1d(KIND_WEIGHTS, [shipped_weight]))
    except ValueError as err:
        raise SystemExit(f"{args.results}: {err}") from err
    best = min(every, key=lambda f: f.rms)
    shipped = next(f for f in every if f.kind_weight == shipped_weight)
    held = {c.name: c.held_back for c in cases}
    print(f"fitted on {sum(not held[n] for n in best.features)} skipping designs (not held back)")
    print(f"  COMPACT_LUTS_PER_COLUMN_BIT = {best.column:.3f}")
    print(f"  COMPACT_LUTS_PER_SLOT_BIT = {best.slot:.3f}")
    print(f"  COMPACT_MASK_KIND_WEIGHT = {best.kind_weight:.2f}")
    print(f"  relative RMS error {best.rms:.3f} (at the shipped mask weight: {shipped.rms:.3f})")
    print(f"{'design':<34}{'held':<6}{'estimate':>9}{'Yosys':>8}{'error':>8}")
    for name in best.features:
        est, got = best.estimate(name), measured[name]
        mark = "yes" if held[name] else ""
        print(f"{name:<34}{mark:<6}{est:>9.0f}{got:>8d}{100 * (est - got) / got:>+7.0f}%")


if __name__ == "__main__":
    main()
