"""Refinement steps: one layer bolder from a fast design worth building, or one layer safer
from a faster near miss."""

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution

from search.refine import incumbents, near_misses, refined_design
from search.sampling import JobSampler, _grid

SPACE = {
    "fc1.weight_sparsity": FloatDistribution(0.0, 0.9, step=0.05),
    "fc1.w_bits": CategoricalDistribution([4, 8]),
    "fc2.weight_sparsity": FloatDistribution(0.0, 0.9, step=0.05),
    "fc2.w_bits": CategoricalDistribution([4, 8]),
}


def _trial(number, accuracy, throughput, params, big="fc1", fits=True):
    """A completed trial whose `big` layer holds almost every DSP and LUT (and the
    bottleneck)."""
    stages = {
        name: {"dsp": 90 if name == big else 10, "lut": 900 if name == big else 100}
        for name in ("input", "fc1", "fc2")
    }
    trial = optuna.trial.create_trial(
        params=params,
        distributions=SPACE,
        values=[accuracy, throughput],
        user_attrs={
            "metrics": {"accuracy": accuracy},
            "hardware": {
                "throughput_fps": throughput,
                "fits": fits,
                "resources": {"dsp": 110, "lut": 1100},
                "layers": stages,
                "bottleneck": big,
            },
        },
    )
    trial.number = number
    return trial


BASE = {"fc1.weight_sparsity": 0.5, "fc1.w_bits": 8, "fc2.weight_sparsity": 0.5, "fc2.w_bits": 8}


def _changes(params):
    return {k: (BASE[k], v) for k, v in params.items() if v != BASE[k]}


def _bolder(key, change):
    before, after = change
    return after > before if key.endswith("sparsity") else after < before


def test_incumbents_are_the_designs_worth_building_fastest_first():
    trials = [
        _trial(0, 0.95, 1e6, BASE),
        _trial(1, 0.80, 9e6, BASE),  # below the floor
        _trial(2, 0.96, 3e6, BASE, fits=False),  # does not fit
        _trial(3, 0.955, 2e6, BASE),
    ]
    assert [t.number for t in incumbents(trials, 0.9)] == [3, 0]


def test_a_step_makes_the_layer_that_holds_the_resources_bolder():
    trials = [_trial(0, 0.95, 1e6, BASE, big="fc1")]
    moves = []
    for seed in range(40):
        params = refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed))
        bolder = {k: change for k, change in _changes(params).items() if _bolder(k, change)}
        assert len(bolder) == 1
        moves.append(next(iter(bolder)))
    assert {"fc1.weight_sparsity", "fc1.w_bits"} <= set(moves)
    assert sum(m.startswith("fc1.") for m in moves) >= 34  # 90% of the resources, the bottleneck


def test_a_trade_gives_back_on_a_layer_that_buys_little():
    trials = [_trial(0, 0.95, 1e6, BASE, big="fc1")]
    trades = []
    for seed in range(40):
        changes = _changes(refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed)))
        if len(changes) == 2:
            trades.append(changes)
    assert trades
    for changes in trades:
        given_back = {k for k, change in changes.items() if not _bolder(k, change)}
        bold = {k for k, change in changes.items() if _bolder(k, change)}
        assert len(given_back) == len(bold) == 1
        assert given_back.pop().split(".")[0] != bold.pop().split(".")[0]


def test_a_design_bound_outside_the_searched_layers_steps_back_for_accuracy():
    trials = [_trial(0, 0.95, 1e6, BASE, big="input")]  # the loader binds
    for seed in range(10):
        changes = _changes(refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed)))
        assert len(changes) == 1 and not _bolder(*next(iter(changes.items())))


def test_no_step_without_a_design_worth_building_or_a_near_miss():
    trials = [_trial(0, 0.80, 1e6, BASE, fits=False)]
    assert refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(0)) is None


def test_near_misses_are_the_fitting_designs_faster_than_any_worth_building_most_accurate_first():
    trials = [
        _trial(0, 0.95, 2e6, BASE),  # worth building: the pace to beat
        _trial(1, 0.85, 3e6, BASE),
        _trial(2, 0.88, 4e6, BASE),
        _trial(3, 0.89, 1e6, BASE),  # below the floor but no faster
        _trial(4, 0.89, 5e6, BASE, fits=False),
    ]
    assert [t.number for t in near_misses(trials, 0.9, 2e6)] == [2, 1]
    assert near_misses(trials, None, 2e6) == []


def test_without_a_design_worth_building_a_step_makes_a_near_miss_safer():
    trials = [_trial(0, 0.80, 1e6, BASE)]
    layers = set()
    for seed in range(20):
        changes = _changes(refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed)))
        assert len(changes) == 1 and not _bolder(*next(iter(changes.items())))
        layers.add(next(iter(changes)).split(".")[0])
    assert layers == {"fc1", "fc2"}  # any layer: which one costs the accuracy is the question


def test_half_the_steps_repair_a_near_miss_when_both_kinds_of_start_exist():
    bold = {
        "fc1.weight_sparsity": 0.8,
        "fc1.w_bits": 4,
        "fc2.weight_sparsity": 0.8,
        "fc2.w_bits": 4,
    }
    trials = [_trial(0, 0.95, 1e6, BASE), _trial(1, 0.85, 3e6, bold)]
    repairs = 0
    for seed in range(40):
        params = refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed))
        # a step from the incumbent changes at most two of its four differences from `bold`
        repairs += sum(params[k] != v for k, v in bold.items()) == 1
    assert 10 <= repairs <= 30


def test_refinement_alternates_with_the_sampler_after_the_startup_trials():
    sampler = JobSampler(
        optuna.samplers.RandomSampler(0), SPACE, [("dense", BASE)], None, 4, 0, object()
    )
    origins = [sampler.origin(n) for n in range(8)]
    assert origins == ["warm start: dense"] + ["sampler"] * 3 + ["refine", "sampler"] * 2


def test_steps_leap_across_plateaus_up_to_four_values():
    trials = [_trial(0, 0.95, 1e6, BASE)]
    sparsities = set()
    for seed in range(60):
        params = refined_design(SPACE, _grid, trials, 0.9, np.random.default_rng(seed))
        if params["fc1.weight_sparsity"] > 0.5:
            sparsities.add(round(params["fc1.weight_sparsity"], 6))
    assert sparsities == {0.55, 0.6, 0.7}
