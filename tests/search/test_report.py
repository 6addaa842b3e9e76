"""Report helpers: hypervolume of a maximised (accuracy, throughput) front."""

import optuna
import pytest

from search.report import hypervolume


def _study(points: list[tuple[float, float]]) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "maximize"])
    for values in points:
        study.add_trial(optuna.trial.create_trial(values=list(values)))
    return study


def test_hypervolume_is_the_area_dominated_above_the_reference():
    study = _study([(0.9, 10.0), (0.5, 20.0), (0.4, 5.0)])  # the last is dominated
    # union of [0, 0.9] x [0, 10] and [0, 0.5] x [0, 20]
    assert hypervolume(study, [0.0, 0.0]) == pytest.approx(0.9 * 10 + 0.5 * 10)


def test_front_members_worse_than_the_reference_add_nothing():
    study = _study([(0.9, 10.0), (0.5, 20.0)])
    assert hypervolume(study, [0.6, 0.0]) == pytest.approx(0.3 * 10)
    assert hypervolume(study, [0.95, 0.0]) == 0.0
