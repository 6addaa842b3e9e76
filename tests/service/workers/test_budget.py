"""`DbTrialBudget` keeps `search.budget.TrialBudget`'s contract across processes: N workers
that each complete the trial of every slot they claim end with exactly n_trials COMPLETE."""

import multiprocessing as mp

import pytest

from service import crud
from service.workers.budget import DbTrialBudget
from tests.utils.claims import complete_a_trial, load, make_job, make_worker, sessions_for

LEASE_S = 26


def _drain(url: str, job_id: int, name: str, pid: int, claimed) -> None:
    sessions = sessions_for(url)
    study = load(url, name)
    budget = DbTrialBudget(sessions, job_id, make_worker(sessions, pid), LEASE_S)
    while budget.claim():
        complete_a_trial(study)
        with claimed.get_lock():
            claimed.value += 1
    budget.close(completed=True)


def _started(url: str, n_trials: int) -> tuple[int, str]:
    job_id, name = make_job(url, n_trials=n_trials)
    sessions = sessions_for(url)
    with sessions.begin() as session:
        crud.next_work(
            session=session,
            worker_id=make_worker(sessions),
            lease_s=LEASE_S,
            confirm_max_attempts=1,
        )  # queued -> running
    return job_id, name


def _exactly_n_across_processes(url: str, n_trials: int = 20) -> None:
    from search import count_complete

    job_id, name = _started(url, n_trials)
    context = mp.get_context("spawn")
    claimed = context.Value("i", 0)
    workers = [
        context.Process(target=_drain, args=(url, job_id, name, pid, claimed)) for pid in range(3)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert claimed.value == n_trials
    assert count_complete(load(url, name)) == n_trials
    with sessions_for(url).begin() as session:  # its trials have no candidates: no worker
        crud.cancel_job(session=session, job_id=job_id)  # may pick it up later in the session


@pytest.mark.slow
def test_three_processes_claim_exactly_n_slots_sqlite(db_url):
    _exactly_n_across_processes(db_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_three_processes_claim_exactly_n_slots_postgres(postgres_url):
    _exactly_n_across_processes(postgres_url)


def test_release_returns_the_slot_and_stop_ends_claims(db_url):
    job_id, _name = _started(db_url, 1)
    sessions = sessions_for(db_url)
    stop = False
    first = DbTrialBudget(sessions, job_id, make_worker(sessions, 7), LEASE_S)
    second = DbTrialBudget(sessions, job_id, make_worker(sessions, 8), LEASE_S, lambda: stop)
    assert first.claim() and not second.claim()  # the one slot is held
    first.release()
    assert second.claim()
    second.release()
    stop = True
    assert not second.claim() and first.claim()
