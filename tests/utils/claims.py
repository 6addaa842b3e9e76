"""Jobs and workers straight in the database, for claim and budget tests without the API."""

import optuna
from sqlalchemy.orm import Session, sessionmaker

from service import crud
from service.core.db import make_engine, make_session_factory
from tests.utils.jobs import job_dict


def sessions_for(url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(url))


def make_job(url: str, n_trials: int | None = 5, **overrides) -> tuple[int, str]:
    """A submitted job (row + Optuna study, as the API makes them); (job id, study name)."""
    from search import create_new_study, make_storage, parse_job

    spec = parse_job(job_dict(n_trials=n_trials, **overrides))
    storage = make_storage(url, heartbeat=False)
    create_new_study(spec, storage)
    storage.engine.dispose()
    with sessions_for(url).begin() as session:
        job = crud.create_job(session=session, spec=spec, submitted_by=None)
        session.flush()
        return job.id, spec.name


def make_worker(sessions: sessionmaker[Session], pid: int = 1) -> int:
    with sessions.begin() as session:
        return crud.register_worker(session=session, hostname="test", pid=pid).id


def complete_a_trial(study: optuna.Study) -> None:
    """What a trial's completion looks like in Optuna's tables."""
    trial = study.ask()
    study.tell(trial, [0.5, 1000.0])


def load(url: str, name: str) -> optuna.Study:
    from search import make_storage

    return optuna.load_study(study_name=name, storage=make_storage(url, heartbeat=False))
