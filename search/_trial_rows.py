"""SQL for one trial's rows in Optuna's RDB schema (optuna/storages/_rdb/models.py).

Statements RDBStorage issues through its ORM, one row at a time, written here as a few bulk
Core statements for search/buffered_storage.py, on a connection rather than an ORM session
(which costs more than the statements here). Each function runs inside the caller's
`transaction` and commits nothing.
"""

import functools
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from optuna import distributions
from optuna.exceptions import StorageInternalError
from optuna.storages._rdb import models
from optuna.trial import TrialState
from sqlalchemy import Insert, Table, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
TRIALS = models.TrialModel.__table__
_STUDIES = models.StudyModel.__table__
# Statements built once: building one (above all an upsert's `excluded`) costs more than
# running it.
_LOCK_STUDY = (
    select(_STUDIES.c.study_id).where(_STUDIES.c.study_id == bindparam("id")).with_for_update()
)
_COUNT_TRIALS = select(func.count()).select_from(TRIALS).where(TRIALS.c.study_id == bindparam("id"))
_LOCK_TRIAL = select(TRIALS.c.state).where(TRIALS.c.trial_id == bindparam("id")).with_for_update()
_UPDATE_TRIAL = update(TRIALS).where(TRIALS.c.trial_id == bindparam("id"))


@functools.cache
def _upsert(dialect: str, table: Table) -> Insert:
    """Insert or overwrite (trial_id, key) -> value_json, as RDBStorage's upsert does."""
    insert = UPSERT_DIALECTS[dialect](table)
    return insert.on_conflict_do_update(
        index_elements=["trial_id", "key"], set_={"value_json": insert.excluded.value_json}
    )


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction; database errors raised as RDBStorage raises them (StorageInternalError,
    IntegrityError as is), everything rolled back."""
    try:
        with engine.begin() as connection:
            yield connection
    except IntegrityError:
        raise
    except SQLAlchemyError as err:
        raise StorageInternalError(f"a transaction failed: {err}") from err


def naive_utc(moment: datetime) -> datetime:
    """How RDBStorage stores a local time (models.TrialModel.datetime_start's setter)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def insert_running_trial(
    connection: Connection, study_id: int, start: datetime, heartbeat: bool
) -> tuple[int, int]:
    """RDBStorage._create_new_trial's rows: lock the study (numbers are counted under the
    lock), count its trials, insert the new one with that number, and with `heartbeat` its
    first heartbeat (the database's clock, as RDBStorage.record_heartbeat). Returns
    (id, number)."""
    if connection.execute(_LOCK_STUDY, {"id": study_id}).one_or_none() is None:
        raise KeyError(models.NOT_FOUND_MSG)
    number = connection.scalar(_COUNT_TRIALS, {"id": study_id})
    inserted = connection.execute(
        TRIALS.insert().values(
            number=number,
            study_id=study_id,
            state=TrialState.RUNNING,
            datetime_start=naive_utc(start),
        )
    )
    trial_id = inserted.inserted_primary_key[0]
    if heartbeat:
        connection.execute(models.TrialHeartbeatModel.__table__.insert().values(trial_id=trial_id))
    return trial_id, number


def lock_trial_state(connection: Connection, trial_id: int) -> TrialState:
    """The trial's stored state, its row locked until the transaction ends."""
    stored = connection.execute(_LOCK_TRIAL, {"id": trial_id}).one_or_none()
    if stored is None:
        raise KeyError(models.NOT_FOUND_MSG)
    return stored.state


def insert_params(
    connection: Connection,
    trial_id: int,
    params: dict[str, tuple[float, distributions.BaseDistribution]],
) -> None:
    connection.execute(
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
    connection: Connection,
    model: type[models.TrialUserAttributeModel | models.TrialSystemAttributeModel],
    trial_id: int,
    attrs_json: dict[str, str],
) -> None:
    """Insert or overwrite attributes (key -> JSON), as RDBStorage's upsert does."""
    connection.execute(
        _upsert(connection.dialect.name, model.__table__),
        [{"trial_id": trial_id, "key": k, "value_json": v} for k, v in attrs_json.items()],
    )


def replace_values(
    connection: Connection, trial_id: int, values: Sequence[float], fresh: bool = False
) -> None:
    """The trial's objective values; `fresh`: it has none stored yet (created here)."""
    table = models.TrialValueModel.__table__
    if not fresh:
        connection.execute(delete(table).where(table.c.trial_id == trial_id))
    stored = [models.TrialValueModel.value_to_stored_repr(float(v)) for v in values]
    connection.execute(
        table.insert(),
        [
            {"trial_id": trial_id, "objective": i, "value": v, "value_type": kind}
            for i, (v, kind) in enumerate(stored)
        ],
    )


def set_state(connection: Connection, trial_id: int, state: TrialState, now: datetime) -> None:
    changes: dict[str, object] = {"id": trial_id, "state": state}
    if state.is_finished():
        changes["datetime_complete"] = naive_utc(now)
    connection.execute(_UPDATE_TRIAL, changes)


def matching_ids(
    connection: Connection,
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
    return list(connection.scalars(query.order_by(TRIALS.c.trial_id)))
