"""Steps along the accuracy floor: one layer bolder from the fastest designs worth building,
or one layer safer from the near misses faster than all of them.

    params = refined_design(space, grid, trials, floor, rng)   # None: nothing to step from

Why: the useful region is a thin band above the accuracy floor, and what sets a design's
throughput there is the pipeline's resources, which folding moves to the slowest stage. So a
step that frees resources in a large layer (or cuts the work of the slowest one) buys
throughput, and a design just above the floor is where one more step is worth trying. A
model-based sampler reaches that band only by chance; these steps walk along it.

A step starts from one of the `INCUMBENTS` fastest designs worth building (`search.front.
trial_worth_building`), picks a layer with probability growing with its share of the design's
multipliers and LUTs (the bottleneck layer counts double), and moves one of that layer's
choices 1, 2 or 4 values towards the aggressive end of its grid (sparsity up, bits down).
Half the steps are trades: another layer, one that buys little, moves back, so a design at
the floor can still gain throughput for accuracy it does not need. A design whose bottleneck
is no searched layer (the loader, a max-pool) cannot get faster by any step: one of its
layers moves back instead, for accuracy at the same throughput.

The band has a second side. A near miss is a design that fits and is faster than every design
worth building but falls short of the floor (a uniform baseline pruned one notch too far, or a
bold step that lost too much). When there are near misses, a step starts from one of the
`INCUMBENTS` most accurate of them with probability `REPAIR_PROBABILITY` (always when nothing
is worth building yet) and moves one choice of a layer drawn uniformly towards the safe end:
which layer costs the accuracy is what the step is looking for, and what it costs in
throughput is what the trial measures.
"""

from collections.abc import Callable, Sequence

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from search.front import trial_worth_building

INCUMBENTS = 3  # a step starts from one of this many fastest designs worth building
TRADE_PROBABILITY = 0.5  # how often a step also gives a layer that buys little some back
REPAIR_PROBABILITY = 0.5  # how often a step starts from a near miss when there is one
LEAPS, LEAP_PROBABILITIES = (1, 2, 4), (0.5, 0.25, 0.25)  # values a step moves a choice

Params = dict[str, float | int]
Step = tuple[str, str, list]  # (layer, key, the values beyond the current one, nearest first)


def incumbents(trials: Sequence[FrozenTrial], floor: float | None) -> list[FrozenTrial]:
    """Completed trials worth building, fastest first (the more accurate first at equal
    throughput, then the earlier)."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and trial_worth_building(t, floor)]
    return sorted(
        done,
        key=lambda t: (
            -t.user_attrs["hardware"]["throughput_fps"],
            -t.user_attrs["metrics"]["accuracy"],
            t.number,
        ),
    )


def near_misses(
    trials: Sequence[FrozenTrial], floor: float | None, faster_than: float
) -> list[FrozenTrial]:
    """Completed trials that fit and run faster than `faster_than` (the fastest design worth
    building) but fall below the floor: most accurate first (then the faster, then the
    earlier). None without a floor."""
    if floor is None:
        return []

    def missed(t: FrozenTrial) -> bool:
        hardware = t.user_attrs.get("hardware", {})
        accuracy = t.user_attrs.get("metrics", {}).get("accuracy")
        fast = hardware.get("throughput_fps", 0.0) > faster_than
        return bool(hardware.get("fits")) and accuracy is not None and accuracy < floor and fast

    done = [t for t in trials if t.state == TrialState.COMPLETE and missed(t)]
    return sorted(
        done,
        key=lambda t: (
            -t.user_attrs["metrics"]["accuracy"],
            -t.user_attrs["hardware"]["throughput_fps"],
            t.number,
        ),
    )


def layer_weights(trial: FrozenTrial, layers: Sequence[str]) -> np.ndarray:
    """How much relieving each layer can buy: its stages' share of the design's DSPs and
    LUTs, plus 1 for the layer holding the bottleneck stage."""
    hardware = trial.user_attrs["hardware"]
    stages = hardware.get("layers", {})
    totals = {r: max(hardware["resources"].get(r, 0), 1) for r in ("dsp", "lut")}
    weights = np.zeros(len(layers))
    for i, layer in enumerate(layers):
        mine = [s for name, s in stages.items() if _stage_of(name, layer)]
        weights[i] = sum(s["dsp"] / totals["dsp"] + s["lut"] / totals["lut"] for s in mine) / 2
        weights[i] += 1.0 if _stage_of(hardware.get("bottleneck") or "", layer) else 0.0
    return weights


def _stage_of(stage: str, layer: str) -> bool:
    """Whether pipeline stage `stage` belongs to layer `layer` (one stage, or a split
    layer's parts, `<layer>.<part>`)."""
    return stage == layer or stage.startswith(layer + ".")


def refined_design(
    space: dict[str, BaseDistribution],
    grid: Callable[[BaseDistribution], list],
    trials: Sequence[FrozenTrial],
    floor: float | None,
    rng: np.random.Generator,
) -> Params | None:
    """One step along the floor (module docstring), or None when no trial is worth building
    or a near miss yet, or the chosen design has no step left."""
    start = incumbents(trials, floor)[:INCUMBENTS]
    fastest = start[0].user_attrs["hardware"]["throughput_fps"] if start else 0.0
    misses = near_misses(trials, floor, fastest)[:INCUMBENTS]
    if misses and (not start or rng.random() < REPAIR_PROBABILITY):
        return _repaired(space, grid, misses[int(rng.integers(len(misses)))], rng)
    if not start:
        return None
    incumbent = start[int(rng.integers(len(start)))]
    if any(key not in incumbent.params for key in space):
        return None
    bolder = _steps(space, grid, incumbent.params, 1)
    safer = _steps(space, grid, incumbent.params, -1)
    searched = {key.rsplit(".", 1)[0] for key in space}
    bottleneck = incumbent.user_attrs["hardware"].get("bottleneck") or ""
    if safer and not any(_stage_of(bottleneck, layer) for layer in searched):
        # bound outside the searched layers (the loader, a pool): only accuracy can still gain
        return {**incumbent.params, **_one_step(safer, _any_layer(safer, rng), rng)}
    if not bolder:
        return None
    layers = _layers(bolder)
    weights = layer_weights(incumbent, layers) + 1e-3
    layer = layers[int(rng.choice(len(layers), p=weights / weights.sum()))]
    params = {**incumbent.params, **_one_step(bolder, layer, rng)}
    others = [name for name in _layers(safer) if name != layer]
    if others and rng.random() < TRADE_PROBABILITY:
        buys = layer_weights(incumbent, others) + 1e-3
        other = others[int(rng.choice(len(others), p=(1 / buys) / (1 / buys).sum()))]
        params.update(_one_step(safer, other, rng))
    return params


def _repaired(
    space: dict[str, BaseDistribution],
    grid: Callable[[BaseDistribution], list],
    miss: FrozenTrial,
    rng: np.random.Generator,
) -> Params | None:
    """One choice of a uniformly drawn layer of `miss` moved towards the safe end."""
    if any(key not in miss.params for key in space):
        return None
    safer = _steps(space, grid, miss.params, -1)
    if not safer:
        return None
    return {**miss.params, **_one_step(safer, _any_layer(safer, rng), rng)}


def _steps(
    space: dict[str, BaseDistribution],
    grid: Callable[[BaseDistribution], list],
    params: Params,
    direction: int,
) -> list[Step]:
    """Every choice of `params` that can move along its grid: towards the aggressive end for
    direction 1, the conservative end for -1."""
    steps = []
    for key, dist in space.items():
        values = grid(dist)[::direction]
        now = [i for i, v in enumerate(values) if np.isclose(v, params[key])]
        if now and now[0] + 1 < len(values):
            steps.append((key.rsplit(".", 1)[0], key, values[now[0] + 1 :]))
    return steps


def _layers(steps: list[Step]) -> list[str]:
    """The layers `steps` can move, in name order (the order the draws index)."""
    return sorted({layer for layer, _, _ in steps})


def _any_layer(steps: list[Step], rng: np.random.Generator) -> str:
    layers = _layers(steps)
    return layers[int(rng.integers(len(layers)))]


def _one_step(steps: list[Step], layer: str, rng: np.random.Generator) -> Params:
    """One of `layer`'s choices moved 1, 2 or 4 values (`LEAPS`; as far as its grid goes):
    throughput rises in steps, and a plateau of equal designs is crossed only by a leap."""
    mine = [(key, values) for name, key, values in steps if name == layer]
    key, values = mine[int(rng.integers(len(mine)))]
    leap = int(rng.choice(LEAPS, p=LEAP_PROBABILITIES))
    return {key: values[min(leap, len(values)) - 1]}
