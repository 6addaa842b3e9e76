"""BufferedRDBStorage's contract: a finished trial is all there, nothing half-written is.

Each test compares what a plain RDBStorage reads from the database (another process's view)
with what the trial wrote, so a write that stayed in a buffer cannot pass for a stored one.
"""

import multiprocessing as mp
import time
import warnings

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from search.buffered_storage import BufferedRDBStorage
from search.storage import make_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
DIRECTIONS = ["maximize", "minimize"]


def objective(trial: optuna.Trial) -> list[float]:
    x = trial.suggest_float("x", 0.0, 1.0, step=0.05)
    bits = trial.suggest_categorical("bits", [2, 4, 8])
    trial.set_user_attr("metrics", {"accuracy": x, "bits": bits, "nested": [1, {"a": None}]})
    trial.set_constraint("fits", x - 0.5)
    return [x, float(bits)]


def stored(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """The trials as a fresh plain RDBStorage reads them from the database."""
    return RDBStorage(url).get_all_trials(RDBStorage(url).get_study_id_from_name(name))


def _fields(trial: optuna.trial.FrozenTrial) -> tuple:
    return (
        trial.number,
        trial.state,
        trial.values,
        trial.params,
        trial.distributions,
        trial.user_attrs,
        trial.system_attrs,
        trial.intermediate_values,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("postgres_url")


def test_make_storage_buffers_and_stays_an_rdbstorage(url):
    storage = make_storage(url, heartbeat=False)
    assert isinstance(storage, BufferedRDBStorage) and isinstance(storage, RDBStorage)
    storage.engine.dispose()


def test_finished_trials_are_stored_whole_and_equal_to_in_memory_ones(url):
    buffered = optuna.create_study(
        study_name="s",
        storage=make_storage(url, heartbeat=False),
        directions=DIRECTIONS,
        sampler=optuna.samplers.RandomSampler(seed=1),
    )
    buffered.optimize(objective, n_trials=6)
    memory = optuna.create_study(
        directions=DIRECTIONS, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    memory.optimize(objective, n_trials=6)

    on_disk = stored(url, "s")
    assert [_fields(t) for t in on_disk] == [_fields(t) for t in memory.trials]
    assert [_fields(t) for t in buffered.trials] == [_fields(t) for t in on_disk]
    assert all(t.datetime_complete >= t.datetime_start for t in on_disk)
    assert [t.number for t in buffered.best_trials] == [t.number for t in memory.best_trials]


def test_a_running_trial_is_stored_without_its_writes_until_it_ends(url):
    study = optuna.create_study(study_name="s", storage=make_storage(url, heartbeat=False))
    trial = study.ask()
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.set_user_attr("note", "pending")
    trial.report(0.25, step=1)  # intermediate values are written at once, for pruners
    mine = study._storage.get_trial(trial._trial_id)
    assert mine.params == {"x": x} and mine.user_attrs == {"note": "pending"}
    (theirs,) = stored(url, "s")
    assert theirs.state == TrialState.RUNNING
    assert theirs.params == {} and theirs.user_attrs == {}
    assert theirs.intermediate_values == mine.intermediate_values == {1: 0.25}

    study.tell(trial, x)
    (theirs,) = stored(url, "s")
    assert _fields(theirs) == _fields(study._storage.get_trial(trial._trial_id))
    assert theirs.params == {"x": x} and theirs.values == [x]


def test_a_trial_ended_elsewhere_is_not_overwritten(url):
    """A heartbeat in another process failed the trial: the late finish writes nothing."""
    study = optuna.create_study(
        study_name="s", storage=make_storage(url, heartbeat=False), directions=DIRECTIONS
    )
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    RDBStorage(url).set_trial_state_values(trial._trial_id, TrialState.FAIL)
    with pytest.raises(UpdateFinishedTrialError):
        study.tell(trial, [0.5, 1.0])
    (theirs,) = stored(url, "s")
    assert theirs.state == TrialState.FAIL and theirs.params == {} and theirs.values is None
    assert study.trials[0].state == TrialState.FAIL  # this process reads the database again


def test_a_failed_trial_is_recorded_as_plain_rdbstorage_records_it(tmp_path):
    def failing(trial: optuna.Trial) -> float:
        trial.suggest_int("layers", 1, 4)
        trial.set_user_attr("stage", "scored")
        raise RuntimeError("the candidate does not fit")

    records = {}
    for name, storage in (
        ("plain", RDBStorage(f"sqlite:///{tmp_path / 'plain.db'}")),
        ("buffered", make_storage(f"sqlite:///{tmp_path / 'buffered.db'}", heartbeat=False)),
    ):
        study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(0))
        study.optimize(failing, n_trials=2, catch=(RuntimeError,))
        records[name] = [_fields(t) for t in stored(storage.url, study.study_name)]
    assert records["buffered"] == records["plain"]
    assert [r[1] for r in records["buffered"]] == [TrialState.FAIL, TrialState.FAIL]


def _claim_and_run(url: str, name: str, n_trials: int, seed: int) -> None:
    study = optuna.load_study(
        study_name=name,
        storage=make_storage(url, heartbeat=False),
        sampler=optuna.samplers.RandomSampler(seed),
    )

    def run(trial: optuna.Trial) -> list[float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.set_user_attr("seed", seed)
        time.sleep(0.005)  # let the other process's claims interleave with this trial
        return [x, 1.0]

    study.optimize(run, n_trials=n_trials)


def test_two_processes_on_one_sqlite_file_run_every_trial_exactly_once(tmp_path):
    """Each enqueued trial is claimed by one process (PITFALLS: SQLite's claim race), and
    every trial either process creates is stored whole."""
    url, per_process = f"sqlite:///{tmp_path / 'shared.db'}", 12
    study = optuna.create_study(
        study_name="s", storage=make_storage(url, heartbeat=False), directions=DIRECTIONS
    )
    for i in range(per_process):  # half of the trials are queued, half sampled
        study.enqueue_trial({"x": i / 100})
    context = mp.get_context("spawn")
    processes = [
        context.Process(target=_claim_and_run, args=(url, "s", per_process, seed))
        for seed in (1, 2)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]

    trials = stored(url, "s")
    assert len(trials) == 2 * per_process
    assert sorted(t.number for t in trials) == list(range(2 * per_process))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert all(t.values == [t.params["x"], 1.0] for t in trials)
    assert sorted(t.user_attrs["seed"] for t in trials) == [1] * per_process + [2] * per_process
    queued = [t.params["x"] for t in trials if "fixed_params" in t.system_attrs]
    assert sorted(queued) == [i / 100 for i in range(per_process)]


def test_a_stale_trial_is_failed_by_heartbeat_and_retried(tmp_path):
    url = f"sqlite:///{tmp_path / 'beat.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        beating = BufferedRDBStorage(
            url,
            heartbeat_interval=1,
            grace_period=1,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(1),
        )
    study = optuna.create_study(study_name="s", storage=beating, directions=DIRECTIONS)
    # a worker that claimed a trial, beat once, suggested, then died
    dead = make_storage(url, heartbeat=False)
    dead_study = optuna.load_study(study_name="s", storage=dead)
    orphan = dead_study.ask()
    orphan.suggest_float("x", 0.0, 1.0)
    dead.record_heartbeat(orphan._trial_id)
    time.sleep(2.2)

    study.optimize(objective, n_trials=1)
    states = {t.number: t.state for t in stored(url, "s")}
    assert states == {0: TrialState.FAIL, 1: TrialState.COMPLETE}
    (retry,) = [t for t in stored(url, "s") if t.number == 1]
    assert retry.system_attrs["failed_trial"] == 0
    assert set(retry.params) == {"x", "bits"}  # the dead worker's params were never stored


def test_reads_merge_this_process_trials_with_other_processes_ones(url):
    """Trials this storage runs or finished come from memory, the rest from the database:
    together they read as the database holds them."""
    mine = optuna.create_study(
        study_name="s", storage=make_storage(url, heartbeat=False), directions=DIRECTIONS
    )
    theirs = optuna.load_study(study_name="s", storage=make_storage(url, heartbeat=False))
    for _ in range(3):
        mine.optimize(objective, n_trials=1)
        theirs.optimize(objective, n_trials=2)
    running = mine.ask()
    running.suggest_float("x", 0.0, 1.0)
    other_running = theirs.ask()

    on_disk = stored(url, "s")
    seen = mine.get_trials(deepcopy=False)
    assert [t.number for t in seen] == list(range(11))
    assert [_fields(t) for t in seen[:9]] == [_fields(t) for t in on_disk[:9]]
    assert seen[9].params == running.params and on_disk[9].params == {}
    assert seen[10].state == TrialState.RUNNING and seen[10].number == other_running.number
    complete = mine._storage.get_all_trials(mine._study_id, states=(TrialState.COMPLETE,))
    assert [t.number for t in complete] == list(range(9))


def test_a_new_trial_carries_its_first_heartbeat(tmp_path):
    """So a worker killed right after creating its trial leaves one that goes stale."""
    url = f"sqlite:///{tmp_path / 'beat.db'}"
    storage = make_storage(url)  # heartbeats on, as workers run
    study = optuna.create_study(study_name="s", storage=storage, directions=DIRECTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # heartbeats are experimental, and meant for optimize
        trial = study.ask()
        plain = RDBStorage(url, heartbeat_interval=1, grace_period=1)
    time.sleep(2.2)
    assert plain._get_stale_trial_ids(study._study_id) == [trial._trial_id]
