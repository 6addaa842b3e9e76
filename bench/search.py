"""Search benchmark: trials/s and storage share of trial time (digits-mlp), and search quality.

    .venv/bin/python bench/search.py [--trials 60] [--storage-only | --quality-only | --quick]
                                     [--seeds 5] [--models digits-mlp,digits-cnn]
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
2. Quality, per model and seed, each job run through the job phases as `hwsearch run` runs
   it (baselines, then trials; the example job file of the model, fine-tuning included):
   - gain: the best front member within 1 point of dense int8 validation accuracy, its
     throughput over the best uniform baseline's (`search.report.search_gain`), after
     --default-trials trials of the default search;
   - sample efficiency: random search (no sensitivity, no warm start) runs --random-trials
     trials; the useful-region hypervolume it reaches (accuracy >= dense int8 - 5 points,
     throughput >= dense int8) is the target, and the number is how many trials the default
     search needed to reach it (">N" when it did not within its N trials).
   A summary line gives the medians. --quick: 2 seeds, 100 random and 40 default trials.
"""

import argparse
import contextlib
import math
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
from threadpoolctl import threadpool_limits  # noqa: E402

from search import (  # noqa: E402
    JobResult,
    JobRun,
    TrialObjective,
    create_job_study,
    load_job,
    load_workload,
    record_baselines,
    run_trials,
    search_gain,
)
from search.budget import LocalBudget  # noqa: E402
from search.scoring import CandidateScorer  # noqa: E402
from search.spec import parse_job  # noqa: E402
from search.storage import make_storage  # noqa: E402

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


def timed_trials(spec, storage, scorer) -> tuple[optuna.Study, float]:
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
        timed_trials(warm_up, optuna.storages.InMemoryStorage(), scorer)
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


# --- search quality ----------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
USEFUL_ACCURACY_SLACK = 0.05  # the useful region: within 5 points of dense int8 accuracy


def quality_spec(model: str, sampler: str, seed: int, trials: int, examples: Path = EXAMPLES):
    """The model's example job (`<examples>/<model>.toml`), with this sampler, seed and
    budget, confirming nothing. Random search is plain: no sensitivity, no warm start, no
    refinement."""
    data = load_job(examples / f"{model}.toml").model_dump(mode="json")
    options = {"name": sampler, "seed": seed}
    if sampler == "random":
        options.update(sensitivity=False, warm_start=False, refine=False)
    data.update(
        name=f"bench-{model}-{sampler}-{seed}",
        sampler={**data["sampler"], **options},
        budget={"n_trials": trials},
        confirm={"front_members": 0, "samples": 1},
    )
    return parse_job(data)


def run_search(spec, workload, directory: Path) -> JobResult:
    """Baselines then trials, one worker, as `hwsearch run` runs a job (SQLite storage)."""
    url = f"sqlite:///{directory / (spec.name + '.db')}"
    start = time.perf_counter()
    study = create_job_study(spec, make_storage(url, heartbeat=False))
    job = JobRun(spec, workload)
    baselines = record_baselines(study, job)
    run_trials(job, url, LocalBudget(spec.budget.n_trials), float("inf"))
    study = optuna.load_study(study_name=spec.name, storage=make_storage(url, heartbeat=False))
    return JobResult(spec, url, study, baselines, time.perf_counter() - start)


def hypervolume_2d(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by `points` above `reference`, both objectives maximised."""
    inside = sorted(
        (p for p in points if p[0] > reference[0] and p[1] > reference[1]), reverse=True
    )
    area, best_y = 0.0, reference[1]
    for x, y in inside:  # by decreasing x: each point adds the strip above the best y so far
        if y > best_y:
            area += (x - reference[0]) * (y - best_y)
            best_y = y
    return area


def hypervolume_by_trial(study: optuna.Study, reference: tuple[float, float]) -> list[float]:
    """Useful-region hypervolume after each trial (index n: the first n + 1 trials), counting
    feasible completed trials only; pruned and failed trials count as spent."""
    points, curve = [], []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        feasible = all(v <= 0 for v in trial.constraints.values())
        if trial.state == optuna.trial.TrialState.COMPLETE and feasible:
            points.append((trial.values[0], trial.values[1]))
        curve.append(hypervolume_2d(points, reference))
    return curve


def quality(args) -> None:
    """Part 2: gain over uniform and sample efficiency, per model and seed."""
    print(
        f"\nsearch quality: default search {args.default_trials} trials, random search "
        f"{args.random_trials} trials, seeds 0..{args.seeds - 1}"
    )
    gains: dict[str, list[float]] = {}
    needed: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            workload = load_workload(quality_spec(model, "random", 0, 1, args.examples))
            for seed in range(args.seeds):
                default_spec = quality_spec(model, "tpe", seed, args.default_trials, args.examples)
                random_spec = quality_spec(model, "random", seed, args.random_trials, args.examples)
                default = run_search(default_spec, workload, Path(tmp))
                random = run_search(random_spec, workload, Path(tmp))
                gain = search_gain(default)
                dense = next(b for b in default.baselines if b["label"] == "dense int8")
                reference = (
                    dense["metrics"]["accuracy"] - USEFUL_ACCURACY_SLACK,
                    dense["hardware"]["throughput_fps"],
                )
                target = hypervolume_by_trial(random.study, reference)[-1]
                curve = hypervolume_by_trial(default.study, reference)
                reached = next((n + 1 for n, v in enumerate(curve) if v >= target > 0), None)
                ratio = gain["throughput_ratio"]
                gains.setdefault(model, []).append(ratio if ratio is not None else 0.0)
                needed.setdefault(model, []).append(reached or math.inf)
                front = gain["best_front"]
                uniform = gain["best_uniform"]
                print(
                    f"  {model} seed {seed}: gain {ratio or 0:.2f}x "
                    f"({front['throughput_fps'] if front else 0:.3g} vs "
                    f"{uniform['label'] if uniform else '-'} "
                    f"{uniform['throughput_fps'] if uniform else 0:.3g} inf/s, floor "
                    f"{gain['accuracy_floor']:.3f}); random's {args.random_trials}-trial useful "
                    f"hypervolume {target:.4g} reached after "
                    f"{reached if reached else f'>{args.default_trials}'} trials "
                    f"(default's own {curve[-1]:.4g}); {default.seconds:.0f} s + "
                    f"{random.seconds:.0f} s",
                    flush=True,
                )
    for model in args.models:
        median_needed = statistics.median(needed[model])
        shown = f">{args.default_trials}" if math.isinf(median_needed) else f"{median_needed:g}"
        print(
            f"summary {model}: median gain {statistics.median(gains[model]):.2f}x best uniform, "
            f"median trials to random's {args.random_trials}-trial hypervolume {shown} "
            f"({args.seeds} seeds)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=60, help="storage part: trials per storage")
    parser.add_argument("--rounds", type=int, default=10, help="turns each storage takes")
    parser.add_argument("--postgres", default=POSTGRES_ADMIN, help='admin URL, or "none"')
    parser.add_argument("--storage-only", action="store_true", help="skip search quality")
    parser.add_argument("--quality-only", action="store_true", help="skip the storage part")
    parser.add_argument("--quick", action="store_true", help="quality only, small budgets")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--random-trials", type=int, default=None)
    parser.add_argument("--default-trials", type=int, default=None)
    parser.add_argument("--models", default="digits-mlp,digits-cnn")
    parser.add_argument("--examples", type=Path, default=EXAMPLES, help="folder of job files")
    args = parser.parse_args()
    quick = {"seeds": 2, "random_trials": 100, "default_trials": 40}
    full = {"seeds": 5, "random_trials": 300, "default_trials": 200}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.models = args.models.split(",")
    torch.set_num_threads(1)  # as each worker process runs
    threadpool_limits(limits=1)
    start = time.perf_counter()
    if not (args.quality_only or args.quick):
        base = job("random", 0, args.trials, "bench-memory")
        throughput(args, CandidateScorer(base, load_workload(base)))
    if not args.storage_only:
        quality(args)
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
