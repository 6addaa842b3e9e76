"""The worker loop: claim work, run that phase of the job with `search`, record the outcome.

Kinds of work, each claimed in the database (`service.crud.next_work`); the phases are
`search.phases`, the same code `hwsearch run` runs:

    baselines  once per job: `record_baselines` (stored in the study's user attrs)
    trials     `run_trials` with a `DbTrialBudget`, until the job's slots are all taken
    finalize   once per job, when the budget is spent: `finalize`, then one confirmation
               task per chosen front member (`confirm.front_members`)
    confirm    one task: `search.confirm_trial`, its report stored with the task

A job's spec comes from its row (`service.artifacts.local_spec`, uploads written to this
machine's cache); its `JobRun` (workload and scorer) is kept for the job's next phases.
Anything a phase raises fails that job (or that confirmation task) with the error recorded;
the worker goes on with the next work. SIGTERM or SIGINT asks the worker to stop after the
current trial (or task); a second one stops it at once. A worker that dies is noticed by its
missing heartbeat.
"""

import logging
import math
import os
import signal
import socket
import threading
import time
from collections import OrderedDict

import optuna
from sqlalchemy.exc import DBAPIError

import search
from service import crud
from service.artifacts import local_spec
from service.core.config import Settings
from service.core.db import absolute_url, make_engine, make_session_factory
from service.core.schema import check_schema
from service.models import Confirmation, Job
from service.workers.budget import DbTrialBudget
from service.workers.confirmation_task import (
    ConfirmationFailedError,
    ConfirmationUnavailableError,
    run_confirmation,
)
from service.workers.heartbeat import Heartbeat
from service.workers.retry import is_transient, retry_transient

log = logging.getLogger("hwsearch.worker")
KEEP_JOBS = 2  # loaded workloads kept for the next phases of their jobs


class Worker:
    """One worker process. `run()` returns when asked to stop (or after `idle_exit_s`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        idle_exit_s: float | None = None,
        parent_pid: int | None = None,
    ):
        self.settings = settings
        self.url = absolute_url(settings.database_url)
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)
        self.idle_exit_s, self.parent_pid = idle_exit_s, parent_pid
        self.stopping = threading.Event()
        self.id: int | None = None
        self._storage = None
        self._activity: tuple[int | None, str] | None = None
        self._runs: OrderedDict[int, search.JobRun] = OrderedDict()

    # --- lifecycle ------------------------------------------------------------------------

    def request_stop(self, *_args) -> None:
        if self.stopping.is_set():
            raise KeyboardInterrupt  # a second signal: stop now
        log.info("stopping after the current piece of work (again to stop now)")
        self.stopping.set()

    def run(self) -> None:
        check_schema(self.engine)
        with self.sessions.begin() as session:
            self.id = crud.register_worker(
                session=session, hostname=socket.gethostname(), pid=os.getpid()
            ).id
        log.info(
            "worker %d on %s (pid %d), database %s",
            self.id,
            socket.gethostname(),
            os.getpid(),
            self.engine.url.render_as_string(hide_password=True),
        )
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            handlers = {
                s: signal.signal(s, self.request_stop) for s in (signal.SIGTERM, signal.SIGINT)
            }
        heartbeat = Heartbeat(
            self.sessions, self.id, self.settings.heartbeat_s, self.stopping.set, self.parent_pid
        )
        heartbeat.start()
        try:
            self._loop()
        finally:
            for signum, previous in handlers.items():
                signal.signal(signum, previous)
            heartbeat.stop()
            with self.sessions.begin() as session:
                crud.stop_worker(session=session, worker_id=self.id)
            self.engine.dispose()
            log.info("worker %d stopped", self.id)

    def _loop(self) -> None:
        idle_since = time.monotonic()
        while not self.stopping.is_set():
            try:
                work = retry_transient(self._next_work)
            except DBAPIError as err:
                log.warning("cannot reach the database: %s", str(err).splitlines()[0])
                work = None
            except Exception:  # a bug in claiming: keep the worker, try again after a pause
                log.exception("claiming work failed")
                work = None
            if work is None:
                self._set_activity(None, "idle")
                if (
                    self.idle_exit_s is not None
                    and time.monotonic() - idle_since > self.idle_exit_s
                ):
                    log.info("idle for %.0f s; exiting", self.idle_exit_s)
                    return
                self.stopping.wait(self.settings.poll_s)
                continue
            handler = getattr(self, f"_do_{work.kind}")
            log.info("job %d: %s", work.job_id, work.kind)
            try:
                handler(work)
            except (Exception, SystemExit) as err:  # SystemExit: a library giving up
                if isinstance(err, DBAPIError) and is_transient(err):
                    # the step stays claimed by this worker, which takes it up again next
                    log.warning(
                        "job %d: %s interrupted: %s",
                        work.job_id,
                        work.kind,
                        str(err).splitlines()[0],
                    )
                    self.stopping.wait(self.settings.poll_s)
                else:
                    log.exception("job %d: %s failed", work.job_id, work.kind)
                    if work.kind != "confirm":  # the job has failed: free its workload
                        self._runs.pop(work.job_id, None)
                    try:
                        retry_transient(lambda work=work, err=err: self._give_up(work, err))
                    except Exception:
                        log.exception("job %d: recording the failure failed", work.job_id)
            idle_since = time.monotonic()

    def _next_work(self) -> crud.Work | None:
        with self.sessions.begin() as session:
            return crud.next_work(
                session=session,
                worker_id=self.id,
                lease_s=self.settings.lease_s,
                confirm_max_attempts=self.settings.confirm_max_attempts,
            )

    def _set_activity(self, job_id: int | None, activity: str) -> None:
        if self._activity == (job_id, activity):
            return

        def record() -> None:
            with self.sessions.begin() as session:
                crud.set_activity(
                    session=session, worker_id=self.id, job_id=job_id, activity=activity
                )

        retry_transient(record)
        self._activity = (job_id, activity)

    def _job(self, job_id: int, activity: str) -> tuple[Job, search.JobRun]:
        """The job row and its `JobRun` (the spec with local files; the workload, loaded once
        for this job's phases on this worker); records what this worker does."""
        self._set_activity(job_id, activity)
        with self.sessions.begin() as session:
            job = crud.get_job(session=session, job_id=job_id)
            run = self._runs.get(job_id)
            if run is None:
                spec = local_spec(session=session, job=job, cache_dir=self.settings.cache_dir)
                run = search.JobRun(spec)
        self._runs[job_id] = run
        self._runs.move_to_end(job_id)
        while len(self._runs) > KEEP_JOBS:
            self._runs.popitem(last=False)
        return job, run

    def _fail(self, job_id: int, step: str, err: BaseException) -> None:
        message = f"{step}: {type(err).__name__}: {err}"
        log.error("job %d failed in %s", job_id, message)
        with self.sessions.begin() as session:
            crud.fail_job(session=session, job_id=job_id, error=message)

    def _give_up(self, work: crud.Work, err: BaseException) -> None:
        """Work that raised: the confirmation task, or else the job, fails with the error
        (search errors, JobFailedError, a bad upload...); nothing stays claimed and stuck."""
        if work.kind != "confirm":
            self._fail(work.job_id, work.kind, err)
            return
        with self.sessions.begin() as session:
            crud.finish_confirmation(
                session=session,
                confirmation_id=work.confirmation_id,
                worker_id=self.id,
                error=f"{type(err).__name__}: {err}",
            )

    def storage(self) -> optuna.storages.BaseStorage:
        if self._storage is None:
            self._storage = search.make_storage(self.url, heartbeat=False)
        return self._storage

    def _study(self, job: Job) -> optuna.Study:
        return optuna.load_study(study_name=job.study_name, storage=self.storage())

    # --- the kinds of work --------------------------------------------------------------

    def _do_baselines(self, work: crud.Work) -> None:
        job, run = self._job(work.job_id, "baselines")
        search.record_baselines(self._study(job), run)
        with self.sessions.begin() as session:
            crud.finish_baselines(session=session, job_id=job.id, worker_id=self.id)

    def _do_trials(self, work: crud.Work) -> None:
        job, run = self._job(work.job_id, "trials")
        deadline = crud.job_deadline(job)
        budget = DbTrialBudget(
            self.sessions, job.id, self.id, self.settings.lease_s, self.stopping.is_set
        )
        until = deadline.timestamp() if deadline is not None else math.inf
        completed = False
        try:  # JobFailedError (trials keep failing) fails the job, as any search error does
            search.run_trials(run, self.url, budget, until, self.id)
            completed = True
        finally:
            budget.close(completed=completed)
            log.info("job %d: ran %d trial slots", job.id, budget.claimed)

    def _do_finalize(self, work: crud.Work) -> None:
        job, run = self._job(work.job_id, "finalize")
        study = self._study(job)
        done = search.finalize(study, run)  # every trial slot has ended by now
        if done.orphans:
            log.warning("job %d: trials %s of dead workers marked FAIL", job.id, done.orphans)
        with self.sessions.begin() as session:
            crud.finalize_job(
                session=session,
                job_id=job.id,
                worker_id=self.id,
                members=done.members,
                samples=run.spec.confirm.samples,
            )
        log.info(
            "job %d: front of %d fixed; confirming trials %s",
            job.id,
            len(study.best_trials),
            done.members,
        )

    def _do_confirm(self, work: crud.Work) -> None:
        job, run = self._job(work.job_id, "confirm")
        with self.sessions.begin() as session:
            task = session.get(Confirmation, work.confirmation_id)
            number, samples = task.trial_number, task.samples
        report, error = None, None
        try:
            report = run_confirmation(self._study(job), run, number, samples)
        except ConfirmationUnavailableError as err:
            error = str(err)
        except ConfirmationFailedError as err:
            report, error = err.report, f"simulation failed: {err}"
        with self.sessions.begin() as session:
            crud.finish_confirmation(
                session=session,
                confirmation_id=work.confirmation_id,
                worker_id=self.id,
                report=report,
                error=error,
            )
        log.info(
            "job %d: trial %d confirmation %s",
            job.id,
            number,
            "done" if error is None else f"failed: {error}",
        )
