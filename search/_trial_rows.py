"""SQL for one trial's rows in Optuna's RDB schema (optuna/storages/_rdb/models.py).

Statements RDBStorage issues through its ORM, one row at a time, written here as a few bulk
Core statements for search/buffered_storage.py. Each function runs inside the caller's
transaction (a session from `_create_scoped_session`) and commits nothing.
"""

from collections.abc import Container, Sequence
from datetime import UTC, datetime

from optuna import distributions
from optuna.storages._rdb import models
from optuna.trial import TrialState
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
TRIALS = models.TrialModel.__table__


def naive_utc(moment: datetime) -> datetime:
    """How RDBStorage stores a local time (models.TrialModel.datetime_start's setter)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def insert_running_trial(session: Session, study_id: int, start: datetime) -> tuple[int, int]:
    """RDBStorage._create_new_trial's rows: lock the study (numbers are counted under the
    lock), count its trials, insert the new one with that number. Returns (id, number)."""
    models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
    number = session.scalar(
        select(func.count()).select_from(TRIALS).where(TRIALS.c.study_id == study_id)
    )
    inserted = session.execute(
        TRIALS.insert().values(
            number=number,
            study_id=study_id,
            state=TrialState.RUNNING,
            datetime_start=naive_utc(start),
        )
    )
    return inserted.inserted_primary_key[0], number


def lock_trial_state(session: Session, trial_id: int) -> TrialState:
    """The trial's stored state, its row locked until the transaction ends."""
    stored = session.execute(
        select(TRIALS.c.state).where(TRIALS.c.trial_id == trial_id).with_for_update()
    ).one_or_none()
    if stored is None:
        raise KeyError(models.NOT_FOUND_MSG)
    return stored.state


def insert_params(
    session: Session,
    trial_id: int,
    params: dict[str, tuple[float, distributions.BaseDistribution]],
) -> None:
    session.execute(
        models.TrialParamModel.__table__.insert(),
        [
            {
                "trial_id": trial_id,
                "param_name": name,
                "param_value": value,
                "distribution_json": distributions.distribution_to_json(dist),
            }
            for name, (value, dist) in params.items()
        ],
    )


def upsert_attrs(
    session: Session,
    model: type[models.TrialUserAttributeModel | models.TrialSystemAttributeModel],
    trial_id: int,
    attrs_json: dict[str, str],
) -> None:
    """Insert or overwrite attributes (key -> JSON), as RDBStorage's upsert does."""
    insert = UPSERT_DIALECTS[session.get_bind().dialect.name](model.__table__)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["trial_id", "key"],
            set_={"value_json": insert.excluded.value_json},
        ),
        [{"trial_id": trial_id, "key": k, "value_json": v} for k, v in attrs_json.items()],
    )


def replace_values(session: Session, trial_id: int, values: Sequence[float]) -> None:
    table = models.TrialValueModel.__table__
    session.execute(delete(table).where(table.c.trial_id == trial_id))
    stored = [models.TrialValueModel.value_to_stored_repr(float(v)) for v in values]
    session.execute(
        table.insert(),
        [
            {"trial_id": trial_id, "objective": i, "value": v, "value_type": kind}
            for i, (v, kind) in enumerate(stored)
        ],
    )


def set_state(session: Session, trial_id: int, state: TrialState, now: datetime) -> None:
    changes: dict[str, object] = {"state": state}
    if state.is_finished():
        changes["datetime_complete"] = naive_utc(now)
    session.execute(update(TRIALS).where(TRIALS.c.trial_id == trial_id).values(**changes))


def matching_ids(
    session: Session,
    study_id: int,
    states: Container[TrialState] | None,
    included_trial_ids: set[int],
    trial_id_greater_than: int,
) -> list[int]:
    """The ids RDBStorage._get_trials returns for these arguments, by the same filters."""
    included = {i for i in included_trial_ids if i <= trial_id_greater_than}
    query = select(TRIALS.c.trial_id).where(TRIALS.c.study_id == study_id)
    if states is not None:
        query = query.where(TRIALS.c.state.in_(list(states)))  # type: ignore[call-overload]
    if included and trial_id_greater_than > -1:
        query = query.where(
            or_(TRIALS.c.trial_id.in_(included), TRIALS.c.trial_id > trial_id_greater_than)
        )
    elif trial_id_greater_than > -1:
        query = query.where(TRIALS.c.trial_id > trial_id_greater_than)
    return list(session.scalars(query.order_by(TRIALS.c.trial_id)))
