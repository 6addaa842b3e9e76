"""An RDBStorage that writes a running trial's params and attributes with the trial's end.

Optuna's RDBStorage commits every `suggest_*`, `set_user_attr` and `set_constraint` on its
own: a digits-mlp trial (11 params, 4 user attrs, a constraint) cost 22 transactions, most of
a trial's time on SQLite. `BufferedRDBStorage` keeps those writes in memory for the trials
this process runs (created here, or claimed from WAITING), answers reads of them from memory,
and writes everything in the one transaction that ends the trial, which locks the trial row
first (FOR UPDATE; SQLite's `BEGIN IMMEDIATE`, search/storage.py) and fails as RDBStorage
does when another process ended the trial already (a heartbeat judged it stale).

What changes, and what does not:
- A finished trial is as durable as before: its params, attributes, values and state commit
  together, or none of them do (the trial then stays RUNNING until a heartbeat or the job's
  finalize step fails it).
- Other processes see this process's running trials without params or attributes until they
  end. TPE (without constant_liar), NSGA-II/III and random sampling read only finished
  trials; GPSampler and TPE with constant_liar use other workers' running params to spread a
  batch, and do without them here.
- A worker killed mid-trial leaves a trial with no params: RetryHeartbeatStaleTrialCallback
  re-queues it with none, so the retry samples a new candidate instead of repeating it.
- Intermediate values (`trial.report`) and heartbeats are written at once: pruners and the
  stale-trial check of other processes read them while the trial runs. A new trial gets its
  first heartbeat with its row; stale trials are looked for once per heartbeat interval,
  not before every trial.
- Study-level writes and every read of trials this process does not run are RDBStorage's.
"""

import copy
import json
import math
import threading
import time
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from optuna import distributions
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import Connection

from search import _trial_rows as rows

# Trials this process finished, kept to answer the next reads of them (Optuna's cache reads
# every trial once more after it ends) without loading them back from the database.
FINISHED_KEPT = 256


def _copy(trial: FrozenTrial) -> FrozenTrial:
    """A copy whose dicts the caller may change (RDBStorage returns fresh objects)."""
    out = copy.copy(trial)
    out.params, out.distributions = dict(trial.params), dict(trial.distributions)
    out.user_attrs, out.system_attrs = dict(trial.user_attrs), dict(trial.system_attrs)
    out.intermediate_values = dict(trial.intermediate_values)
    out.values = trial.values
    return out


@dataclass
class _RunningTrial:
    """A trial this process runs: what the database holds, plus the writes not yet made."""

    study_id: int
    view: FrozenTrial  # the trial as this process sees it (stored + pending)
    params: dict[str, tuple[float, distributions.BaseDistribution]] = field(default_factory=dict)
    user_attrs: dict[str, str] = field(default_factory=dict)  # key -> JSON
    system_attrs: dict[str, str] = field(default_factory=dict)
    fresh: bool = False  # created by this process: no values stored yet


class BufferedRDBStorage(RDBStorage):
    """RDBStorage whose running trials write params and attributes once, when they end.

    Only for SQLite and PostgreSQL (the upserts use their dialects). Thread-safe like
    RDBStorage: a lock guards the buffers; each transaction takes a pooled connection.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        if self.engine.name not in rows.UPSERT_DIALECTS:
            raise ValueError(
                f"BufferedRDBStorage supports {sorted(rows.UPSERT_DIALECTS)}, not {url}"
            )
        self._init_buffers()

    def _init_buffers(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, _RunningTrial] = {}
        self._finished: dict[int, tuple[int, FrozenTrial]] = {}  # id -> (study id, trial)
        # the distribution each param name has in a study, checked once per process
        self._study_distributions: dict[tuple[int, str], distributions.BaseDistribution] = {}
        self._beats: dict[int, float] = {}  # running trial id -> monotonic time of last beat
        self._stale_checked: dict[int, float] = {}  # study id -> monotonic time

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        buffers = ("_lock", "_running", "_finished", "_study_distributions", "_beats")
        for name in (*buffers, "_stale_checked"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._init_buffers()

    def _owned(self, trial_id: int) -> _RunningTrial | None:
        with self._lock:
            return self._running.get(trial_id)

    def _adopt(self, study_id: int, trial: FrozenTrial, fresh: bool = False) -> None:
        with self._lock:
            self._running[trial._trial_id] = _RunningTrial(study_id, _copy(trial), fresh=fresh)

    # --- trial creation and claiming ----------------------------------------------------

    def _create_new_trial(
        self, study_id: int, template_trial: FrozenTrial | None = None
    ) -> FrozenTrial:
        if template_trial is not None:  # add_trial / enqueue_trial: RDBStorage's way
            trial = super()._create_new_trial(study_id, template_trial)
            if trial.state == TrialState.RUNNING:
                self._adopt(study_id, trial)
            return trial
        start, beating = datetime.now(), self.heartbeat_interval is not None
        with rows.transaction(self.engine) as connection:
            trial_id, number = rows.insert_running_trial(connection, study_id, start, beating)
        if beating:
            with self._lock:
                self._beats[trial_id] = time.monotonic()
        # no value or end yet; no params, distributions, attrs or intermediate values
        trial = FrozenTrial(
            number, TrialState.RUNNING, None, start, None, {}, {}, {}, {}, {}, trial_id
        )
        self._adopt(study_id, trial, fresh=True)
        return _copy(trial)

    # --- buffered writes ------------------------------------------------------------------

    def _set_trial_param(  # RDBStorage.set_trial_param and Optuna's cache call this
        self,
        trial_id: int,
        param_name: str,
        param_value_internal: float,
        distribution: distributions.BaseDistribution,
        previous_distribution: distributions.BaseDistribution | None,
    ) -> None:
        running = self._owned(trial_id)
        if running is None:
            super()._set_trial_param(
                trial_id, param_name, param_value_internal, distribution, previous_distribution
            )
            return
        key = (running.study_id, param_name)
        previous = previous_distribution or self._study_distributions.get(key)
        if previous is None:
            previous = self._stored_distribution(running.study_id, param_name)
        if previous is not None:
            distributions.check_distribution_compatibility(previous, distribution)
        with self._lock:
            self._study_distributions.setdefault(key, distribution)
            if param_name in running.view.params:
                return  # RDBStorage ignores a second write (unique key): the first one stays
            running.params[param_name] = (param_value_internal, distribution)
            running.view.params[param_name] = distribution.to_external_repr(param_value_internal)
            running.view.distributions[param_name] = distribution

    def _stored_distribution(
        self, study_id: int, param_name: str
    ) -> distributions.BaseDistribution | None:
        with _create_scoped_session(self.scoped_session) as session:
            record = (
                session.query(models.TrialParamModel.distribution_json)
                .join(models.TrialModel)
                .filter(models.TrialModel.study_id == study_id)
                .filter(models.TrialParamModel.param_name == param_name)
                .first()
            )
        return None if record is None else distributions.json_to_distribution(record[0])

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        running = self._owned(trial_id)
        if running is None:
            super().set_trial_user_attr(trial_id, key, value)
            return
        value_json = json.dumps(value)  # raises here, as RDBStorage would, if not JSON
        with self._lock:
            running.user_attrs[key] = value_json
            running.view.user_attrs[key] = json.loads(value_json)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        running = self._owned(trial_id)
        if running is None:
            super().set_trial_system_attr(trial_id, key, value)
            return
        value_json = json.dumps(value)
        with self._lock:
            running.system_attrs[key] = value_json
            running.view.system_attrs[key] = json.loads(value_json)

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        super().set_trial_intermediate_value(trial_id, step, intermediate_value)  # written now
        running = self._owned(trial_id)
        if running is not None:
            with self._lock:
                running.view.intermediate_values[step] = intermediate_value

    # --- the end of a trial: everything in one transaction --------------------------------

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        running = self._owned(trial_id)
        if running is None:
            claimed = super().set_trial_state_values(trial_id, state, values)
            if claimed and state == TrialState.RUNNING:  # a WAITING trial, now this process's
                self._adopt(*self._stored_trial(trial_id))
            return claimed
        if state == TrialState.RUNNING:
            return False  # already running: RDBStorage refuses too
        now = datetime.now()
        try:
            with rows.transaction(self.engine) as connection:
                state_now = rows.lock_trial_state(connection, trial_id)
                self.check_trial_is_updatable(trial_id, state_now)
                self._write_pending(connection, running)
                if values is not None:
                    rows.replace_values(connection, trial_id, values, running.fresh)
                rows.set_state(connection, trial_id, state, now)
        except (UpdateFinishedTrialError, KeyError):
            self._disown(trial_id)  # another process ended (or deleted) the trial
            raise
        # any other error (a lost connection...) rolled back: the writes stay buffered
        view = running.view
        with self._lock:
            view.state = state
            if values is not None:
                view.values = [float(v) for v in values]
            if state.is_finished():
                view.datetime_complete = now
        self._disown(trial_id, (running.study_id, view) if state.is_finished() else None)
        return True

    def _disown(self, trial_id: int, finished: tuple[int, FrozenTrial] | None = None) -> None:
        with self._lock:
            self._running.pop(trial_id, None)
            self._beats.pop(trial_id, None)
            if finished is not None:
                self._finished[trial_id] = finished
                if len(self._finished) > FINISHED_KEPT:
                    del self._finished[next(iter(self._finished))]

    # --- heartbeats: fewer writes and checks, same guarantees ---------------------------

    def record_heartbeat(self, trial_id: int) -> None:
        """A trial created here got its first beat with its row (so even a worker killed at
        once leaves a trial that goes stale); the heartbeat thread's first call, right
        after, is skipped. Later beats come every interval, as in RDBStorage."""
        now = time.monotonic()
        with self._lock:
            last = self._beats.get(trial_id)
        if last is not None and now - last < (self.heartbeat_interval or 0) / 2:
            return
        super().record_heartbeat(trial_id)
        with self._lock:
            if trial_id in self._running:
                self._beats[trial_id] = now

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """Checked at most once per heartbeat interval (Optuna asks before every trial): a
        dead worker's trial is failed at most one interval later than RDBStorage would."""
        assert self.heartbeat_interval is not None
        now = time.monotonic()
        with self._lock:
            if now - self._stale_checked.get(study_id, -math.inf) < self.heartbeat_interval:
                return []
            self._stale_checked[study_id] = now
        return super()._get_stale_trial_ids(study_id)

    def _stored_trial(self, trial_id: int) -> tuple[int, FrozenTrial]:
        with _create_scoped_session(self.scoped_session) as session:
            trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
            return trial.study_id, self._build_frozen_trial_from_trial_model(trial)

    @staticmethod
    def _write_pending(connection: Connection, running: _RunningTrial) -> None:
        trial_id = running.view._trial_id
        if running.params:
            rows.insert_params(connection, trial_id, running.params)
        if running.user_attrs:
            rows.upsert_attrs(
                connection, models.TrialUserAttributeModel, trial_id, running.user_attrs
            )
        if running.system_attrs:
            rows.upsert_attrs(
                connection,
                models.TrialSystemAttributeModel,
                trial_id,
                running.system_attrs,
            )

    # --- reads of this process's trials -----------------------------------------------

    def _known(self, trial_id: int) -> FrozenTrial | None:
        """This process's view of a trial it runs or finished, if it has one."""
        with self._lock:
            if trial_id in self._running:
                return self._running[trial_id].view
            if trial_id in self._finished:
                return self._finished[trial_id][1]
        return None

    def get_trial(self, trial_id: int) -> FrozenTrial:
        known = self._known(trial_id)
        return super().get_trial(trial_id) if known is None else _copy(known)

    def get_trial_param(self, trial_id: int, param_name: str) -> float:
        known = self._known(trial_id)
        if known is None or param_name not in known.params:
            return super().get_trial_param(trial_id, param_name)
        return known.distributions[param_name].to_internal_repr(known.params[param_name])

    def get_trial_user_attrs(self, trial_id: int) -> dict[str, Any]:
        known = self._known(trial_id)
        return super().get_trial_user_attrs(trial_id) if known is None else dict(known.user_attrs)

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        known = self._known(trial_id)
        if known is None:
            return super().get_trial_system_attrs(trial_id)
        return dict(known.system_attrs)

    def _get_trials(
        self,
        study_id: int,
        states: Container[TrialState] | None,
        included_trial_ids: set[int],
        trial_id_greater_than: int,
    ) -> list[FrozenTrial]:
        """RDBStorage's query, except that the trials this process runs or finished are not
        loaded back but taken from memory (a light query lists the matching ids first)."""
        with self._lock:
            known = {i: t for i, (s, t) in self._finished.items() if s == study_id}
            known.update((i, r.view) for i, r in self._running.items() if r.study_id == study_id)
        if not known:
            return super()._get_trials(study_id, states, included_trial_ids, trial_id_greater_than)
        with rows.transaction(self.engine) as connection:
            ids = rows.matching_ids(
                connection, study_id, states, included_trial_ids, trial_id_greater_than
            )
        to_load = [i for i in ids if i not in known]
        loaded = (
            super()._get_trials(study_id, states, set(to_load), max(to_load)) if to_load else []
        )
        by_id = {t._trial_id: t for t in loaded}  # may hold newer trials too: kept
        by_id.update((i, known[i]) for i in {*ids, *by_id} if i in known)
        with self._lock:  # views change under the lock
            return [_copy(by_id[i]) if i in known else by_id[i] for i in sorted(by_id)]
