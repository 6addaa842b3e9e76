"""Search benchmark on digits-mlp: trials/s, storage share of trial time, and sampler quality.

    .venv/bin/python bench/search.py [--trials 60] [--seeds 3]

1. Throughput: the same trials against an in-memory storage (the baseline) and against
   SQLite RDBStorage; prints trials/s for both, their ratio, and the share of each trial's
   wall time spent inside storage calls (timed on the RDBStorage behind Optuna's cache).
2. Quality: hypervolume of the (accuracy, throughput) front of TPE and NSGA-II over random
   search at equal budget, for each seed, as ratios (random = 1.0), against two reference
   points: the origin, and the corner of the useful region (within 5 points of dense int8
   accuracy, faster than dense int8).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This script is bench/search.py: keep its folder off sys.path so `search` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import optuna  # noqa: E402

from search import TrialObjective, create_job_study, load_workload  # noqa: E402
from search.report import hypervolume  # noqa: E402
from search.scoring import CandidateScorer  # noqa: E402
from search.spec import parse_job  # noqa: E402
from search.storage import make_storage  # noqa: E402
from search.transforms import uniform_candidate  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class StorageTimer:
    """Adds up the seconds spent in an RDBStorage's methods (outermost calls only).

    The methods are wrapped on the instance, so it stays an RDBStorage and Optuna puts its
    usual cache (`_CachedStorage`) in front of it, exactly as in a real run; a proxy object
    would bypass that cache and overstate the storage's share. Private methods are wrapped
    too: the cache calls some of them (`_get_trials`).
    """

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        self.seconds, self._depth = 0.0, 0
        for name in dir(type(storage)):
            attr = getattr(storage, name)
            if not name.startswith("__") and callable(attr) and hasattr(attr, "__self__"):
                setattr(storage, name, self._timed(attr))

    def _timed(self, method):
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - start

        return timed


def job(sampler: str, seed: int, trials: int, name: str):
    return parse_job(
        {
            "name": name,
            "model": "digits-mlp",
            "device": "xc7a100t",
            "sampler": {"name": sampler, "seed": seed},
            "budget": {"n_trials": trials},
        }
    )


def run_trials(spec, storage, scorer) -> tuple[optuna.Study, float]:
    study = create_job_study(spec, storage)
    start = time.perf_counter()
    study.optimize(TrialObjective(spec, scorer), n_trials=spec.budget.n_trials)
    return study, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    base = job("random", 0, args.trials, "bench-memory")
    scorer = CandidateScorer(base, load_workload(base))
    _, memory_s = run_trials(base, optuna.storages.InMemoryStorage(), scorer)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        storage = make_storage(url, heartbeat=False)
        timer = StorageTimer(storage)
        _, sqlite_s = run_trials(job("random", 0, args.trials, "bench-sqlite"), storage, scorer)
    print(f"digits-mlp, {args.trials} random-sampler trials on xc7a100t")
    print(f"  in-memory storage (baseline): {args.trials / memory_s:6.1f} trials/s")
    print(
        f"  SQLite RDBStorage:            {args.trials / sqlite_s:6.1f} trials/s "
        f"({memory_s / sqlite_s:.2f}x the baseline)"
    )
    print(f"  share of trial time in storage calls (SQLite): {timer.seconds / sqlite_s:.1%}")

    # Two reference points. The origin counts every design, including the many that are
    # useless (slower than dense int8, or far less accurate); the "useful" point counts only
    # the region a user would pick from: at most 5 points below the dense int8 accuracy and
    # faster than dense int8 on the same device.
    dense = scorer.score(uniform_candidate(weight_sparsity=0.0, w_bits=8, a_bits=8))
    references = {
        "origin": [0.0, 0.0],
        "useful": [dense.metrics["accuracy"] - 0.05, dense.hardware["throughput_fps"]],
    }
    print(
        f"\nhypervolume at {args.trials} trials, ratio to random search (same seed); "
        f"useful region: accuracy >= {references['useful'][0]:.4f}, "
        f"throughput >= {references['useful'][1]:.4g} inf/s (dense int8)"
    )
    ratios = {(s, r): [] for s in ("tpe", "nsga2") for r in references}
    for seed in range(args.seeds):
        studies = {
            sampler: run_trials(
                job(sampler, seed, args.trials, f"bench-{sampler}-{seed}"),
                optuna.storages.InMemoryStorage(),
                scorer,
            )[0]
            for sampler in ("random", "tpe", "nsga2")
        }
        line = []
        for ref_name, reference in references.items():
            random_volume = hypervolume(studies["random"], reference)
            for sampler in ("tpe", "nsga2"):
                volume = hypervolume(studies[sampler], reference)
                ratio = volume / random_volume if random_volume else float("inf")
                ratios[sampler, ref_name].append(ratio)
                line.append(f"{sampler} {ref_name} {ratio:.3f}x")
        print(f"  seed {seed}: " + ", ".join(line))
    for (sampler, ref_name), values in ratios.items():
        print(f"  mean {sampler:5s} ({ref_name} reference): {statistics.mean(values):.3f}x random")


if __name__ == "__main__":
    main()
