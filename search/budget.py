"""Trial budgets: the right to start one trial, so N workers finish exactly n_trials.

Optuna's own stop conditions (MaxTrialsCallback) are checked after a trial, so concurrent
workers overshoot. A budget is claimed *before* a trial starts and given back when the trial
failed, so the study ends with exactly n_trials finished trials: COMPLETE, or PRUNED (a
duplicate design or one stopped early, `search.phases.TrialObjective`).
"""

import abc
import multiprocessing as mp


class TrialBudget(abc.ABC):
    """Called by every worker around each trial: `claim()` before, `release()` on failure."""

    @abc.abstractmethod
    def claim(self) -> bool:
        """Take one trial slot; False when the budget is spent."""

    @abc.abstractmethod
    def release(self) -> None:
        """Return a claimed slot whose trial failed (it will be run again)."""


class LocalBudget(TrialBudget):
    """A counter shared by worker processes of one machine (multiprocessing)."""

    def __init__(self, n_trials: int, already_complete: int = 0, context=None):
        context = context or mp.get_context("spawn")
        self._remaining = context.Value("i", max(n_trials - already_complete, 0))

    def claim(self) -> bool:
        with self._remaining.get_lock():
            if self._remaining.value <= 0:
                return False
            self._remaining.value -= 1
            return True

    def release(self) -> None:
        with self._remaining.get_lock():
            self._remaining.value += 1

    @property
    def remaining(self) -> int:
        return self._remaining.value


class UnlimitedBudget(TrialBudget):
    """For timeout-only jobs."""

    def claim(self) -> bool:
        return True

    def release(self) -> None:
        pass
