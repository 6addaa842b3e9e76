"""Read-only views of two of Optuna's tables, for cheap trial counts by state.

Optuna's public API loads whole trials (params, values, attributes) to count them; progress
and trial-budget checks only need `SELECT state, count(*)`. `studies` and `trials` with these
columns have been stable across Optuna's RDB schema versions. This metadata is separate from
`service.models.Base.metadata`, so Alembic never manages Optuna's tables.
"""

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

optuna_metadata = MetaData()

studies = Table(
    "studies",
    optuna_metadata,
    Column("study_id", Integer, primary_key=True),
    Column("study_name", String(512)),
)

trials = Table(
    "trials",
    optuna_metadata,
    Column("trial_id", Integer, primary_key=True),
    Column("number", Integer),
    Column("study_id", Integer),
    Column("state", String(8)),  # TrialState name: RUNNING, COMPLETE, PRUNED, FAIL, WAITING
)

STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")


def trial_counts(session: Session, study_names: list[str]) -> dict[str, dict[str, int]]:
    """{study_name: {state: count}} with every state present (0 when none)."""
    out = {name: dict.fromkeys(STATES, 0) for name in study_names}
    if not study_names:
        return out
    query = (
        select(studies.c.study_name, trials.c.state, func.count())
        .select_from(trials.join(studies, trials.c.study_id == studies.c.study_id))
        .where(studies.c.study_name.in_(study_names))
        .group_by(studies.c.study_name, trials.c.state)
    )
    for name, state, count in session.execute(query):
        out[name][str(getattr(state, "name", state))] = count
    return out


def finished_count(session: Session, study_name: str) -> int:
    """Trials that spent a slot of the job: COMPLETE, or PRUNED (a duplicate design or one
    stopped early, `search.phases.TrialObjective`)."""
    counts = trial_counts(session, [study_name])[study_name]
    return counts["COMPLETE"] + counts["PRUNED"]
