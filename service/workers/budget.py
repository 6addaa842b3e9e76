"""`search.budget.TrialBudget` in the database: N workers on any machines run exactly
n_trials finished (COMPLETE or PRUNED) trials of a job (the claim rules are in
`service.crud.claims`)."""

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from search import TrialBudget
from service import crud
from service.models import ClaimState
from service.workers.retry import retry_transient


class DbTrialBudget(TrialBudget):
    """Trial slots of one job for one worker; `search.study.run_trials` calls it.

    `claim()` is False when the budget is spent, the job is no longer running (cancelled,
    failed) or `should_stop()` says the worker is shutting down. A claim held when the
    worker dies expires with the worker's heartbeat lease.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: int,
        worker_id: int,
        lease_s: float,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        self._sessions, self._job_id, self._worker_id = sessions, job_id, worker_id
        self._lease_s, self._should_stop = lease_s, should_stop
        self._current: int | None = None  # the claim whose trial is running or just ran
        self.claimed = 0  # slots this budget took (for logs and tests)

    def claim(self) -> bool:
        if self._should_stop():
            self.close(completed=True)
            return False

        def take() -> int | None:
            with self._sessions.begin() as session:
                return crud.claim_trial(
                    session=session,
                    job_id=self._job_id,
                    worker_id=self._worker_id,
                    previous_claim_id=self._current,
                    lease_s=self._lease_s,
                )

        self._current = retry_transient(take)
        self.claimed += self._current is not None
        return self._current is not None

    def release(self) -> None:
        self._end(ClaimState.RELEASED)

    def close(self, completed: bool) -> None:
        """After `run_trials` returns (completed=True: its last trial finished normally) or
        raises (False); either way the slot stops counting as in flight."""
        self._end(ClaimState.DONE if completed else ClaimState.RELEASED)

    def _end(self, state: ClaimState) -> None:
        if self._current is None:
            return
        claim_id, self._current = self._current, None

        def end() -> None:
            with self._sessions.begin() as session:
                crud.end_claim(session=session, claim_id=claim_id, state=state)

        retry_transient(end)
