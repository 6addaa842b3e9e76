"""The Pareto front as a person reads it: one entry per distinct design, with every trial that
built it, whether RTL simulation confirmed it, and the accuracy floor of the useful region.

Optuna's `study.best_trials` keeps every non-dominated trial, so a design sampled twice
(sparsities are stepped, bits categorical) is on the front twice with identical values. Here
it is one `FrontDesign` listing both trial numbers; the job confirms and reports it once.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from search.spec import JobSpec

ACCURACY_SLACK = 0.01  # the useful region: within 1 point of dense accuracy
DENSE_LABEL = "dense int8"  # the reference baseline search.phases.evaluate_baselines scores


class JobView(Protocol):
    """What fronts and reports read of a job (`search.study.JobResult` is one)."""

    spec: JobSpec
    study: optuna.Study
    baselines: list[dict]


@dataclass
class StoredJob:
    """A job read back from its study alone (the baselines are a study user attr)."""

    spec: JobSpec
    study: optuna.Study
    baselines: list[dict]

    @classmethod
    def of(cls, study: optuna.Study, spec: JobSpec) -> "StoredJob":
        return cls(spec, study, study.user_attrs.get("baselines", []))


def confirmation_key(trial_number: int) -> str:
    """Study user attr holding a trial's RTL confirmation report."""
    return f"confirmation:{trial_number}"


def is_confirmed(report: dict | None) -> bool:
    """Simulated bit-exact against the integer reference model, and in exactly the cycles
    the hardware model predicted."""
    return bool(
        report
        and "error" not in report
        and report.get("bit_exact") is True
        and report.get("cycles_equal") is True
    )


def design_key(values: Sequence[float], attrs: dict[str, Any]) -> str:
    """Identity of a scored design: its objective values, hardware estimate and design digest
    (`search.scoring.Score.design`; trials stored without one: their per-layer configuration,
    `layers`); equal keys build the same accelerator with the same weights."""
    design = attrs["design"] if "design" in attrs else attrs.get("layers")
    return json.dumps([list(values), attrs.get("hardware"), design], sort_keys=True, default=str)


def group_identical(items: Sequence[Any], key) -> list[list[Any]]:
    """Items with equal `key(item)` together, groups and members in their first order."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())


@dataclass(frozen=True)
class FrontDesign:
    """One distinct design of the front and every trial that built it."""

    trials: tuple[FrozenTrial, ...]  # lowest number first
    confirmation: dict | None  # its RTL report (a confirmed one first), if any was stored

    @property
    def trial(self) -> FrozenTrial:
        """The trial that stands for the design (the first to build it)."""
        return self.trials[0]

    @property
    def numbers(self) -> list[int]:
        return [t.number for t in self.trials]

    @property
    def confirmed(self) -> bool:
        return is_confirmed(self.confirmation)


def _report(group: Sequence[FrozenTrial], study_attrs: dict) -> dict | None:
    reports = [
        study_attrs[confirmation_key(t.number)]
        for t in group
        if confirmation_key(t.number) in study_attrs
    ]
    return next((r for r in reports if is_confirmed(r)), reports[0] if reports else None)


def front_designs(study: optuna.Study) -> list[FrontDesign]:
    """Distinct designs of the feasible front, best first objective first (ties: the first
    trial number first)."""
    attrs = study.user_attrs
    best = sorted(study.best_trials, key=lambda t: t.number)
    groups = group_identical(best, lambda t: design_key(t.values, t.user_attrs))
    designs = [FrontDesign(tuple(group), _report(group, attrs)) for group in groups]
    sign = -1.0 if study.directions[0] == StudyDirection.MAXIMIZE else 1.0
    return sorted(designs, key=lambda d: (sign * d.trial.values[0], d.trial.number))


def worth_building(accuracy: float | None, fits: bool | None, floor: float | None) -> bool:
    """A design in the useful region: it fits the device, at or above the accuracy floor
    (the designs `search.report.search_gain` compares and the job confirms first)."""
    return bool(fits) and floor is not None and accuracy is not None and accuracy >= floor


def trial_worth_building(trial: FrozenTrial, floor: float | None) -> bool:
    """`worth_building` on what a scored trial stores (`metrics`, `hardware`)."""
    attrs = trial.user_attrs
    accuracy = attrs.get("metrics", {}).get("accuracy")
    return worth_building(accuracy, attrs.get("hardware", {}).get("fits"), floor)


def worth_building_first(designs: Sequence[FrontDesign], floor: float | None) -> list[FrontDesign]:
    """The designs a person would build first: those `worth_building`, fastest first (the
    first is the one `search.report.search_gain` reports), then the rest in front order.
    Without a floor, front order."""

    def useful(design: FrontDesign) -> bool:
        return trial_worth_building(design.trial, floor)

    fastest = sorted(
        (d for d in designs if useful(d)),
        key=lambda d: -d.trial.user_attrs["hardware"]["throughput_fps"],
    )
    return fastest + [d for d in designs if not useful(d)]


def dense_accuracy(baselines: list[dict]) -> float | None:
    dense = next((b for b in baselines if b["label"] == DENSE_LABEL), None)
    return None if dense is None else dense["metrics"].get("accuracy")


def accuracy_floor(spec: JobSpec, baselines: list[dict]) -> float | None:
    """Lowest accuracy worth building: dense accuracy less ACCURACY_SLACK, or the job's
    `constraints.min_accuracy` when that is higher; None when neither is known."""
    dense = dense_accuracy(baselines)
    floors = [f for f in (spec.constraints.min_accuracy,) if f is not None]
    if dense is not None:
        floors.append(dense - ACCURACY_SLACK)
    return max(floors, default=None)
