"""The early-stop rule: untuned candidates that tuning cannot make useful are not tuned."""

from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from search import parse_job
from search.fidelity import MIN_TUNED_TRIALS, hopeless

SPEC = parse_job(
    {
        "name": "fidelity",
        "model": "digits-mlp",
        "objectives": ["accuracy", "throughput"],
        "constraints": {"min_accuracy": 0.8},
        "finetune": {"epochs": 1},
    }
)


def _tuned_trial(number: int, untuned: float, tuned: float, throughput: float):
    trial = create_trial(
        params={"x": 0.0},
        distributions={"x": FloatDistribution(0.0, 1.0)},
        values=[tuned, throughput],
        user_attrs={"metrics": {"accuracy": tuned}, "untuned_metrics": {"accuracy": untuned}},
    )
    trial.number = number
    return trial


def _history(n: int = MIN_TUNED_TRIALS) -> list:
    """Tuning recovered at most 0.05 of accuracy; the best trial: 0.95 at 100 inf/s."""
    trials = [_tuned_trial(i, 0.85, 0.88, 10.0) for i in range(n - 1)]
    return [*trials, _tuned_trial(n - 1, 0.90, 0.95, 100.0)]


def test_nothing_stops_before_enough_trials_were_tuned():
    assert (
        hopeless(SPEC, {"accuracy": 0.1, "throughput": 1.0}, _history(MIN_TUNED_TRIALS - 1)) is None
    )


def test_a_candidate_below_the_minimum_even_after_tuning_stops():
    # 0.70 + 0.05 recovery + 0.02 margin < 0.8
    reason = hopeless(SPEC, {"accuracy": 0.70, "throughput": 500.0}, _history())
    assert reason is not None and "cannot reach 0.8" in reason


def test_a_candidate_beaten_everywhere_even_after_tuning_stops():
    reason = hopeless(SPEC, {"accuracy": 0.85, "throughput": 50.0}, _history())
    assert reason is not None and f"trial {MIN_TUNED_TRIALS - 1} beats it" in reason


def test_a_candidate_tuning_could_put_on_the_front_goes_on():
    assert hopeless(SPEC, {"accuracy": 0.89, "throughput": 50.0}, _history()) is None  # 0.96
    assert hopeless(SPEC, {"accuracy": 0.85, "throughput": 98.0}, _history()) is None  # margin
