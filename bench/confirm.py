"""Confirmation benchmark: a 5-member digits-mlp front through Verilator, cold and warm.

    .venv/bin/python bench/confirm.py [--members 5] [--samples 64] [--trials 60]

Runs a digits-mlp search (SQLite, in a temporary directory), then confirms the front twice
with `search.confirm_trials` (2 processes): the first pass compiles every hardware
shape not yet in the build cache, the second finds every shape cached (warm). With `--cold`
the first pass starts from an empty build directory and an empty ccache. Prints both wall
times, their ratio, and per-member exactness and cycle agreement. Target: warm < 60 s on a
2-core machine.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# This script lives in bench/: keep that folder off sys.path so `search` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import optuna  # noqa: E402

from search import (  # noqa: E402
    JobRun,
    confirm_trials,
    front_numbers,
    load_job,
    load_job_study,
    run_job,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits-mlp.toml"


def timed_confirm(
    study: optuna.Study, job: JobRun, numbers: list[int], samples: int
) -> tuple[float, dict]:
    start = time.perf_counter()
    reports = confirm_trials(study, job, numbers, samples, processes=2)
    return time.perf_counter() - start, reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--cold", action="store_true", help="empty build dir and ccache")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.cold:
            os.environ["HWS_BUILD_DIR"] = str(Path(tmp) / "build")
        spec = load_job(EXAMPLE)
        spec = spec.model_copy(
            update={
                "budget": spec.budget.model_copy(update={"n_trials": args.trials}),
                "confirm": spec.confirm.model_copy(update={"front_members": 0}),
            }
        )
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        run_job(spec, url, workers=1)
        study, stored_spec = load_job_study(url, spec.name)
        job = JobRun(stored_spec)
        job.scorer  # noqa: B018  the workload loads once, outside the timed passes
        numbers = front_numbers(study, args.members)
        if len(numbers) < args.members:
            extra = sorted(
                (t for t in study.trials if t.values and t.number not in numbers),
                key=lambda t: -t.values[1],
            )
            numbers += [t.number for t in extra[: args.members - len(numbers)]]
        print(
            f"digits-mlp on {spec.device}: confirming trials {numbers}, "
            f"{args.samples} test vectors each, 2 processes"
        )
        cold, _ = timed_confirm(study, job, numbers, args.samples)
        warm, reports = timed_confirm(study, job, numbers, args.samples)
    for number, report in reports.items():
        if "error" in report:
            print(f"  trial {number}: FAILED {report['error']}")
            continue
        print(
            f"  trial {number}: bit-exact {report['bit_exact']}, cycles equal "
            f"{report['cycles_equal']} ({report['simulated_total_cycles']} cycles), expected "
            f"interval off by {report['expected_interval_error_pct']:.1f}%"
        )
    first = "cold (empty build dir and ccache)" if args.cold else "first pass (builds new shapes)"
    print(f"{first}: {cold:6.1f} s")
    print(f"warm (every shape built): {warm:6.1f} s  ({cold / warm:.1f}x faster)")
    print(f"target warm < 60 s: {'met' if warm < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
