"""Two fidelities for a trial that fine-tunes: untuned first, and tuned only if it can matter.

Fine-tuning costs ten times an untuned evaluation. A candidate is scored untuned first; it
is stopped (recorded PRUNED, never tuned) when even the best recovery tuning has shown in
this job cannot make it useful:
- with `constraints.min_accuracy`, its accuracy plus that recovery stays below the minimum;
- or a completed feasible trial beats it in every objective: task metrics by more than the
  recovery, hardware figures by `HARDWARE_MARGIN` (tuning moves activation statistics, so
  the untuned hardware estimate is close to, not equal to, the tuned one).
The recovery is learned from the job's own tuned trials (each stores its untuned metrics),
plus `RECOVERY_MARGIN`; nothing is stopped before `MIN_TUNED_TRIALS` of them exist.
Optuna's pruners (`trial.report`/`should_prune`) refuse multi-objective studies, hence this
rule; the outcome is the same trial state, PRUNED.
"""

from collections.abc import Sequence

from optuna.trial import FrozenTrial

from search.spec import HARDWARE_OBJECTIVES, JobSpec, objective_direction

RECOVERY_MARGIN = 0.02
MIN_TUNED_TRIALS = 5
HARDWARE_MARGIN = 0.05
UNTUNED_ATTR = "untuned_metrics"


def recovery(trials: Sequence[FrozenTrial], metric: str) -> float | None:
    """The most a metric has improved by tuning in `trials` (COMPLETE ones), plus the margin;
    None while fewer than MIN_TUNED_TRIALS were tuned."""
    sign = 1.0 if objective_direction(metric) == "maximize" else -1.0
    gains = [
        sign * (t.user_attrs["metrics"][metric] - t.user_attrs[UNTUNED_ATTR][metric])
        for t in trials
        if UNTUNED_ATTR in t.user_attrs and metric in t.user_attrs[UNTUNED_ATTR]
    ]
    if len(gains) < MIN_TUNED_TRIALS:
        return None
    return max(max(gains), 0.0) + RECOVERY_MARGIN


def _feasible(trial: FrozenTrial) -> bool:
    return all(v <= 0 for v in trial.constraints.values())


def hopeless(
    spec: JobSpec, untuned: dict[str, float], completed: Sequence[FrozenTrial]
) -> str | None:
    """Why a candidate with these untuned objective values (and metrics) is not worth tuning,
    or None. `untuned` maps every objective, and "accuracy" when the job constrains it."""
    bounds: dict[str, float] = {}
    for name in {*spec.objectives, "accuracy"} - set(HARDWARE_OBJECTIVES):
        if name not in untuned:
            continue
        gain = recovery(completed, name)
        if gain is None:
            return None
        sign = 1.0 if objective_direction(name) == "maximize" else -1.0
        bounds[name] = untuned[name] + sign * gain
    floor = spec.constraints.min_accuracy
    if floor is not None and "accuracy" in bounds and bounds["accuracy"] < floor:
        return f"accuracy {untuned['accuracy']:.4f} untuned cannot reach {floor} by tuning"
    for trial in completed:
        if trial.values is not None and _feasible(trial) and _beats(spec, trial, untuned, bounds):
            return f"trial {trial.number} beats it in every objective even after tuning"
    return None


def _beats(spec: JobSpec, trial: FrozenTrial, untuned: dict, bounds: dict) -> bool:
    for name, value in zip(spec.objectives, trial.values, strict=True):
        sign = 1.0 if objective_direction(name) == "maximize" else -1.0
        if name in HARDWARE_OBJECTIVES:
            mine = untuned[name] * (1 + sign * HARDWARE_MARGIN)
        else:
            mine = bounds[name]
        if sign * value <= sign * mine:
            return False
    return True
