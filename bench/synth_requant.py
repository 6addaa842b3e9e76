"""Requantizer cost: hws_requant alone through Yosys `synth_xilinx` (xc7) over a spread of
widths, shifts and thresholds, and the least-squares fit of its LUT6 count to
`REQUANT_LUTS_PER_ACC_BIT * acc_bits + REQUANT_LUTS_PER_OUT_BIT * out_bits` (hw_models
`requantizer_luts`; the model does not know the shift and threshold, which the generated top
passes as constants).

    .venv/bin/python bench/synth_requant.py [--points 32] [--json FILE]

Each point is a one-instance wrapper around hws_requant with constant SHIFT and THRESHOLD,
synthesised with the hierarchy kept as in `rtl.synth` (the requantizer stays a module of its
own, as inside an engine). Points are drawn from a fixed seed: shifts mostly where a layer's
lie (0 .. acc_bits - out_bits), some <= 0; thresholds small (ReLU and thresholded ReLU).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# This script lives in bench/: keep that folder off sys.path so packages resolve to the repo.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402

from hw_models import _coefficients as coefficients  # noqa: E402
from rtl.generate import HDL_DIR  # noqa: E402
from rtl.synth import SynthesisError, parse_stat, run_yosys, yosys_script  # noqa: E402

SOURCES = ("hws_pkg.sv", "hws_requant.sv")
WRAPPER = """\
module requant_top (input wire logic signed [{acc}-1:0] acc_i, output logic [{out}-1:0] y_o);
  hws_requant #(.ACC_BITS({acc}), .OUT_BITS({out}), .SHIFT({shift}), .THRESHOLD({threshold}))
    u_requant (.acc_i, .shift_i(32'sd0), .threshold_i(32'd0), .y_o);
endmodule
"""


def points(n: int, seed: int = 0) -> list[tuple[int, int, int, int]]:
    """`n` (acc_bits, out_bits, shift, threshold), seeded."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        acc, bits = int(rng.integers(8, 37)), int(rng.choice([2, 3, 4, 6, 8]))
        shift = (
            int(rng.integers(0, acc - bits + 1)) if rng.random() < 0.8 else int(rng.integers(-3, 1))
        )
        out.append((acc, bits, shift, int(rng.choice([0, 0, 1, 3, 7]))))
    return out


def requant_luts(acc: int, bits: int, shift: int, threshold: int) -> int:
    """LUT6 Yosys builds for one constant requantizer (0 when it folds to a constant)."""
    with tempfile.TemporaryDirectory(prefix="hws-requant-") as tmp:
        work = Path(tmp)
        for name in SOURCES:
            (work / name).write_text((HDL_DIR / name).read_text())
        wrapper = WRAPPER.format(acc=acc, out=bits, shift=shift, threshold=threshold)
        (work / "requant_top.sv").write_text(wrapper)
        log = run_yosys(work, yosys_script([*SOURCES, "requant_top.sv"], top="requant_top"))
    try:
        return parse_stat(log).lut
    except SynthesisError:  # no cell left: the output is a constant for these values
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the points and the fit here")
    args = parser.parse_args()
    start, rows = time.monotonic(), []
    for acc, bits, shift, threshold in points(args.points):
        lut = requant_luts(acc, bits, shift, threshold)
        print(
            f"acc {acc:2d} out {bits} shift {shift:3d} threshold {threshold}: {lut} LUT", flush=True
        )
        rows.append((acc, bits, shift, threshold, lut))
    table = np.array(rows, dtype=np.float64)
    fit, *_ = np.linalg.lstsq(table[:, :2], table[:, 4], rcond=None)
    model = table[:, :2] @ [
        coefficients.REQUANT_LUTS_PER_ACC_BIT,
        coefficients.REQUANT_LUTS_PER_OUT_BIT,
    ]
    print(f"fit: {fit[0]:.3f} LUT per accumulator bit + {fit[1]:.3f} per output bit")
    print(
        f"model ({coefficients.REQUANT_LUTS_PER_ACC_BIT}, {coefficients.REQUANT_LUTS_PER_OUT_BIT}):"
        f" total {model.sum():.0f} LUT for Yosys's {table[:, 4].sum():.0f}, median |error| per"
        f" requantizer {np.median(np.abs(model - table[:, 4])):.1f} LUT"
    )
    print(f"wall time {time.monotonic() - start:.0f} s for {len(rows)} points")
    if args.json:
        args.json.write_text(json.dumps({"points": rows, "fit": fit.tolist()}, indent=1))


if __name__ == "__main__":
    main()
