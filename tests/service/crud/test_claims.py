"""Who does what: trial slots, one-off steps (baselines, finalize), confirmation tasks."""

from datetime import timedelta

from sqlalchemy import update

from service import crud
from service.models import ClaimState, Job, JobStatus, Worker, utcnow
from tests.utils.claims import complete_a_trial, load, make_job, make_worker, sessions_for

LEASE_S = 26


def _next(sessions, worker_id):
    with sessions.begin() as session:
        return crud.next_work(
            session=session, worker_id=worker_id, lease_s=LEASE_S, confirm_max_attempts=2
        )


def _claim(sessions, job_id, worker_id, previous=None):
    with sessions.begin() as session:
        return crud.claim_trial(
            session=session,
            job_id=job_id,
            worker_id=worker_id,
            previous_claim_id=previous,
            lease_s=LEASE_S,
        )


def _kill(sessions, worker_id):
    """As a SIGKILL looks from the database: the heartbeat stops."""
    with sessions.begin() as session:
        session.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(last_seen=utcnow() - timedelta(seconds=LEASE_S + 1))
        )


def _job(sessions, job_id) -> Job:
    with sessions.begin() as session:
        return crud.get_job(session=session, job_id=job_id)


def test_first_worker_takes_baselines_others_take_trials(db_url):
    sessions = sessions_for(db_url)
    job_id, _ = make_job(db_url)
    a, b, c = (make_worker(sessions, pid) for pid in (1, 2, 3))
    assert _next(sessions, a) == crud.Work("baselines", job_id)
    assert _job(sessions, job_id).status is JobStatus.RUNNING
    assert _next(sessions, b) == crud.Work("trials", job_id)
    assert _next(sessions, c) == crud.Work("trials", job_id)


def test_baselines_of_a_dead_worker_are_taken_over_once(db_url):
    sessions = sessions_for(db_url)
    job_id, _ = make_job(db_url)
    a, b = make_worker(sessions, 1), make_worker(sessions, 2)
    assert _next(sessions, a).kind == "baselines"
    _kill(sessions, a)
    assert _next(sessions, b).kind == "baselines"
    with sessions.begin() as session:
        assert not crud.finish_baselines(session=session, job_id=job_id, worker_id=a)
        assert crud.finish_baselines(session=session, job_id=job_id, worker_id=b)
        assert not crud.finish_baselines(session=session, job_id=job_id, worker_id=b)


def test_slots_are_exactly_n_and_released_ones_come_back(db_url):
    sessions = sessions_for(db_url)
    job_id, name = make_job(db_url, n_trials=2)
    study = load(db_url, name)
    a, b = make_worker(sessions, 1), make_worker(sessions, 2)
    _next(sessions, a)  # starts the job (and takes its baselines)
    first = _claim(sessions, job_id, a)
    second = _claim(sessions, job_id, b)
    assert first and second and _claim(sessions, job_id, b) is None
    with sessions.begin() as session:
        crud.end_claim(session=session, claim_id=second, state=ClaimState.RELEASED)
    third = _claim(sessions, job_id, b)
    assert third is not None
    complete_a_trial(study)
    complete_a_trial(study)
    assert _claim(sessions, job_id, a, previous=first) is None  # 2 COMPLETE: spent


def test_a_dead_workers_claim_expires_and_its_slot_is_claimed_again(db_url):
    sessions = sessions_for(db_url)
    job_id, _ = make_job(db_url, n_trials=1)
    a, b = make_worker(sessions, 1), make_worker(sessions, 2)
    _next(sessions, a)
    assert _claim(sessions, job_id, a) is not None
    assert _claim(sessions, job_id, b) is None
    _kill(sessions, a)
    assert _claim(sessions, job_id, b) is not None


def test_cancelled_job_gives_no_slots(db_url):
    sessions = sessions_for(db_url)
    job_id, _ = make_job(db_url)
    a = make_worker(sessions)
    _next(sessions, a)
    with sessions.begin() as session:
        crud.cancel_job(session=session, job_id=job_id)
    assert _claim(sessions, job_id, a) is None
    assert _next(sessions, a) is None


def test_finalize_once_budget_is_spent_and_baselines_are_done(db_url):
    sessions = sessions_for(db_url)
    job_id, name = make_job(db_url, n_trials=1)
    a, b = make_worker(sessions, 1), make_worker(sessions, 2)
    assert _next(sessions, a).kind == "baselines"
    claim = _claim(sessions, job_id, b)
    complete_a_trial(load(db_url, name))
    assert _next(sessions, b) is None  # spent, but the baselines are not done yet
    with sessions.begin() as session:
        crud.finish_baselines(session=session, job_id=job_id, worker_id=a)
    assert _next(sessions, b) == crud.Work("finalize", job_id)  # its claim is in limbo: fine
    assert _next(sessions, a) is None  # held by b
    with sessions.begin() as session:
        assert (
            crud.finalize_job(session=session, job_id=job_id, worker_id=a, members=[0], samples=8)
            is None
        )
        job = crud.finalize_job(session=session, job_id=job_id, worker_id=b, members=[0], samples=8)
        assert job.status is JobStatus.CONFIRMING
    assert claim is not None


def test_confirmation_tasks_are_claimed_once_and_finish_the_job(db_url):
    sessions = sessions_for(db_url)
    job_id, name = make_job(db_url, n_trials=1)
    a, b, c = (make_worker(sessions, pid) for pid in (1, 2, 3))
    _next(sessions, a)
    with sessions.begin() as session:
        crud.finish_baselines(session=session, job_id=job_id, worker_id=a)
    _claim(sessions, job_id, a)
    complete_a_trial(load(db_url, name))
    assert _next(sessions, a).kind == "finalize"
    with sessions.begin() as session:
        crud.finalize_job(session=session, job_id=job_id, worker_id=a, members=[0, 7], samples=8)
    first, second = _next(sessions, a), _next(sessions, b)
    assert {first.kind, second.kind} == {"confirm"}
    assert first.confirmation_id != second.confirmation_id and _next(sessions, c) is None
    with sessions.begin() as session:
        assert not crud.finish_confirmation(
            session=session, confirmation_id=first.confirmation_id, worker_id=b, report={}
        )  # not b's task
        assert crud.finish_confirmation(
            session=session,
            confirmation_id=first.confirmation_id,
            worker_id=a,
            report={"cycles": 1},
        )
    assert _job(sessions, job_id).status is JobStatus.CONFIRMING
    with sessions.begin() as session:
        crud.finish_confirmation(
            session=session, confirmation_id=second.confirmation_id, worker_id=b, error="boom"
        )
    assert _job(sessions, job_id).status is JobStatus.DONE


def test_a_task_lost_too_often_fails(db_url):
    sessions = sessions_for(db_url)
    job_id, name = make_job(db_url, n_trials=1)
    workers = [make_worker(sessions, pid) for pid in range(4)]
    _next(sessions, workers[0])
    with sessions.begin() as session:
        crud.finish_baselines(session=session, job_id=job_id, worker_id=workers[0])
    _claim(sessions, job_id, workers[0])
    complete_a_trial(load(db_url, name))
    _next(sessions, workers[0])
    with sessions.begin() as session:
        crud.finalize_job(
            session=session, job_id=job_id, worker_id=workers[0], members=[0], samples=8
        )
    for worker in workers[1:3]:  # confirm_max_attempts=2: two workers die on it
        assert _next(sessions, worker).kind == "confirm"
        _kill(sessions, worker)
    assert _next(sessions, workers[3]) is None
    with sessions.begin() as session:
        (task,) = crud.list_confirmations(session=session, job_id=job_id)
        assert task.status.value == "failed" and "lost 2 times" in task.error
    assert _job(sessions, job_id).status is JobStatus.DONE


def test_timeout_job_is_spent_at_its_deadline(db_url):
    sessions = sessions_for(db_url)
    job_id, _ = make_job(db_url, n_trials=None, budget={"timeout_s": 1})
    a = make_worker(sessions)
    _next(sessions, a)
    assert _claim(sessions, job_id, a) is not None
    with sessions.begin() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(started_at=utcnow() - timedelta(seconds=5))
        )
    assert _claim(sessions, job_id, a) is None


def test_a_step_interrupted_in_a_live_worker_goes_back_to_it(db_url):
    """A worker asks for work only when it does none: what it still holds was interrupted
    (a transient database error), so it gets it again rather than leaving it stuck."""
    sessions = sessions_for(db_url)
    make_job(db_url)
    a, b = make_worker(sessions, 1), make_worker(sessions, 2)
    assert _next(sessions, a).kind == "baselines"
    assert _next(sessions, b).kind == "trials"  # a is live: its baselines stay with it
    assert _next(sessions, a).kind == "baselines"


def test_a_job_whose_scheduling_raises_is_failed_and_the_next_gets_the_work(db_url, monkeypatch):
    from service.crud import claims

    sessions = sessions_for(db_url)
    worker = make_worker(sessions)
    broken, _ = make_job(db_url)
    healthy, _ = make_job(db_url)
    for job_id in (broken, healthy):
        with sessions.begin() as session:
            session.get(Job, job_id).baselines_done_at = utcnow()
    real_slots = claims.trial_slots

    def trial_slots(session, job, cutoff, now):
        if job.id == broken:
            raise OverflowError("date value out of range")
        return real_slots(session, job, cutoff, now)

    monkeypatch.setattr(claims, "trial_slots", trial_slots)
    work = _next(sessions, worker)
    assert work == crud.Work("trials", healthy)
    with sessions.begin() as session:
        job = session.get(Job, broken)
        assert job.status is JobStatus.FAILED and "date value out of range" in job.error
