"""Search benchmark on digits-mlp: trials/s, storage share of trial time, and sampler quality.

    .venv/bin/python bench/search.py [--trials 60] [--seeds 3] [--storage-only]
                                     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

1. Throughput: the same trials (same sampler seed, one torch thread, as a worker runs them)
   against an in-memory storage (the baseline) and against the storage `make_storage` builds:
   the default on SQLite (the embedded default) and on PostgreSQL (in a fresh database made
   through the --postgres admin URL; "none" skips it), each beside Optuna's plain RDBStorage,
   without heartbeats; and the SQLite default once more with heartbeats on, as workers run it
   (Optuna then starts a heartbeat thread per trial, whose start and join cost wall time on
   a busy machine). The storages take turns in --rounds rounds, so a change in the machine's
   load hits all alike. Prints trials/s, the ratio to the baseline, and the share of each
   trial's wall time spent inside storage calls (timed on the RDBStorage behind Optuna's
   cache).
2. Quality: hypervolume of the (accuracy, throughput) front of TPE and NSGA-II over random
   search at equal budget, for each seed, as ratios (random = 1.0), against two reference
   points: the origin, and the corner of the useful region (within 5 points of dense int8
   accuracy, faster than dense int8).
"""

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

# This script is bench/search.py: keep its folder off sys.path so `search` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import optuna  # noqa: E402
import sqlalchemy  # noqa: E402
import torch  # noqa: E402

from search import TrialObjective, create_job_study, load_workload  # noqa: E402
from search.report import hypervolume  # noqa: E402
from search.scoring import CandidateScorer  # noqa: E402
from search.spec import parse_job  # noqa: E402
from search.storage import make_storage  # noqa: E402
from search.transforms import uniform_candidate  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
POSTGRES_ADMIN = os.environ.get(
    "HWSEARCH_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class StorageTimer:
    """Adds up the seconds spent in an RDBStorage's methods (outermost calls only).

    The methods are wrapped on the instance, so it stays an RDBStorage and Optuna puts its
    usual cache (`_CachedStorage`) in front of it, exactly as in a real run; a proxy object
    would bypass that cache and overstate the storage's share. Private methods are wrapped
    too: the cache calls some of them (`_get_trials`). Only the calling thread's time
    counts: Optuna's heartbeat thread beats while the trial runs, in parallel.
    """

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        self.seconds, self._depth, self._thread = 0.0, 0, threading.get_ident()
        for name in dir(type(storage)):
            attr = getattr(storage, name)
            if not name.startswith("__") and callable(attr) and hasattr(attr, "__self__"):
                setattr(storage, name, self._timed(attr))

    def _timed(self, method):
        def timed(*args, **kwargs):
            if threading.get_ident() != self._thread:
                return method(*args, **kwargs)
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


@contextlib.contextmanager
def fresh_postgres(admin_url: str):
    """A new empty database on the server of `admin_url` (its URL), dropped afterwards."""
    name = f"hwsearch_bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Contender:
    """One storage's study, run a slice of the trials at a time, its seconds added up."""

    def __init__(self, label: str, storage, spec, scorer) -> None:
        self.label = label
        is_rdb = isinstance(storage, optuna.storages.RDBStorage)
        self.timer = StorageTimer(storage) if is_rdb else None
        self.study = create_job_study(spec, storage)
        self.objective = TrialObjective(spec, scorer)
        self.seconds = 0.0

    def run(self, n_trials: int) -> None:
        start = time.perf_counter()
        self.study.optimize(self.objective, n_trials=n_trials)
        self.seconds += time.perf_counter() - start

    def line(self, trials: int, baseline: float) -> str:
        rate = trials / self.seconds
        text = f"  {self.label:40s} {rate:6.1f} trials/s"
        if self.timer is None:
            return text
        share = self.timer.seconds / self.seconds
        return f"{text}  {baseline / self.seconds:.2f}x the baseline, storage {share:5.1%}"


def throughput(args, scorer) -> None:
    """Part 1: every storage runs the same trials, in turns."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        urls = {"SQLite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        if args.postgres != "none":
            try:
                urls["PostgreSQL"] = stack.enter_context(fresh_postgres(args.postgres))
            except sqlalchemy.exc.OperationalError as err:
                print(f"PostgreSQL skipped: {str(err).splitlines()[0]}")
        storages = {"in-memory storage (baseline)": optuna.storages.InMemoryStorage()}
        for db, url in urls.items():
            storages[f"{db}, default storage (buffered)"] = make_storage(url, heartbeat=False)
            if db == "SQLite":
                storages["SQLite, default storage, heartbeats on"] = make_storage(url)
            plain = make_storage(url, heartbeat=False, buffered=False)
            storages[f"{db}, Optuna's plain RDBStorage"] = plain
        contenders = [
            Contender(label, storage, job("random", 0, args.trials, f"bench-{i}"), scorer)
            for i, (label, storage) in enumerate(storages.items())
        ]
        warm_up = job("random", 1, 3, "bench-warm-up")  # first calls into torch cost more
        run_trials(warm_up, optuna.storages.InMemoryStorage(), scorer)
        done = 0
        for r in range(args.rounds):
            n = (args.trials * (r + 1)) // args.rounds - done
            for contender in contenders:
                contender.run(n)
            done += n
        print(
            f"digits-mlp, {args.trials} random-sampler trials on xc7a100t, storages in turns "
            f"over {args.rounds} rounds"
        )
        baseline = contenders[0].seconds
        for contender in contenders:
            print(contender.line(args.trials, baseline))
        for storage in storages.values():
            if isinstance(storage, optuna.storages.RDBStorage):
                storage.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10, help="turns each storage takes")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help='admin URL, or "none"')
    parser.add_argument("--storage-only", action="store_true", help="skip sampler quality")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as each worker process runs

    base = job("random", 0, args.trials, "bench-memory")
    scorer = CandidateScorer(base, load_workload(base))
    throughput(args, scorer)
    if args.storage_only:
        return

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
