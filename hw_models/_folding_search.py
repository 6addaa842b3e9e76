"""Choosing PE and SIMD per engine under a device budget (FINN SetFolding-like)."""

from __future__ import annotations

import numpy as np

from ._devices import DEFAULT_MAX_UTILISATION, Device, get_device
from ._folding import Folding
from ._network import Network
from ._prepared import PreparedNetwork, prepare
from ._resources import RESOURCE_NAMES

FOLD_MODES = ("max_throughput", "min_resources")


class DoesNotFitError(ValueError):
    """The network cannot be placed on the device within the utilisation cap."""


def _over_budget_message(
    what: str, device: Device, used: np.ndarray, budget: np.ndarray, max_utilisation: float
) -> str:
    over = [
        f"{name} needs {u:,.0f} > {b:,.0f} available (over by {u - b:,.0f}, "
        f"{u / device.capacity[i]:.0%} of the device)"
        for i, (name, u, b) in enumerate(zip(RESOURCE_NAMES, used, budget, strict=True))
        if u > b
    ]
    return (
        f"{what} does not fit {device.name} ({device.part}) under the "
        f"{max_utilisation:.0%} utilisation cap: " + "; ".join(over)
    )


def _check_fits(
    prepared: PreparedNetwork,
    pe_index: np.ndarray,
    simd_index: np.ndarray,
    device: Device,
    max_utilisation: float,
    what: str,
) -> None:
    used = prepared.evaluate(pe_index, simd_index).resources[0]
    budget = device.budget(max_utilisation)
    if np.any(used > budget):
        raise DoesNotFitError(_over_budget_message(what, device, used, budget, max_utilisation))


def _max_throughput(p: PreparedNetwork, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy: repeatedly speed up the slowest engine with its cheapest faster option that
    keeps the total within budget, preferring the cheapest one that is no longer the slowest
    stage. Stops when the slowest stage cannot be made faster (or is a fixed stage)."""
    n = p.n_engines
    shape = p.cycles.shape[1:]
    cycles_flat = p.cycles.reshape(n, -1)  # (E, options)
    res_flat = p.resources.reshape(n, -1, 4)
    cost = (res_flat / budget).sum(axis=-1)  # an option's resources as budget fractions
    pick = [0] * n  # option index (PE = SIMD = 1 first)
    cycles = [float(cycles_flat[e, 0]) for e in range(n)]
    total = res_flat[:, 0].sum(axis=0) + p.fixed_resources
    fixed_max = float(p.stage_cycles_fixed[p._fixed_stage].max())
    while True:
        b = max(range(n), key=cycles.__getitem__)
        if cycles[b] <= fixed_max:
            break
        second = max([fixed_max, *cycles[:b], *cycles[b + 1 :]])
        options, option_cycles, option_cost = res_flat[b], cycles_flat[b], cost[b]
        slack = budget - total + options[pick[b]]
        # (few calls, as ufuncs and methods: this loop runs a few dozen times per fold, on
        # small arrays, so call overhead is its cost)
        faster = np.logical_and.reduce(options <= slack, axis=1) & (option_cycles < cycles[b])
        enough = faster & (option_cycles <= second)
        # the cheapest option that is enough, else the cheapest faster one (costs are finite)
        by_cost = np.where(enough, option_cost, np.inf)
        choice = int(by_cost.argmin())
        if by_cost[choice] == np.inf:
            by_cost = np.where(faster, option_cost, np.inf)
            choice = int(by_cost.argmin())
            if by_cost[choice] == np.inf:
                break
        total += options[choice] - options[pick[b]]
        pick[b], cycles[b] = choice, float(cycles_flat[b, choice])
    pe_i, simd_i = np.unravel_index(np.array(pick), shape)
    return pe_i.astype(np.int64), simd_i.astype(np.int64)


def _min_resources(
    p: PreparedNetwork, budget: np.ndarray, target_cycles: float, target_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per engine, the cheapest option whose expected cycles meet the target interval."""
    names = p.stage_names
    fixed_slow = np.flatnonzero(p.stage_cycles_fixed > target_cycles)
    if len(fixed_slow):
        s = int(fixed_slow[0])
        raise ValueError(
            f"target_fps={target_fps:g} is unreachable: stage {names[s]!r} takes "
            f"{p.stage_cycles_fixed[s]:.0f} cycles per frame, more than "
            f"{target_cycles:.1f}"
        )
    cost = (p.resources / budget).sum(axis=-1)
    ok = p.cycles <= target_cycles  # NaN (unaffordable, not computed) compares False
    for e in np.flatnonzero(~ok.any(axis=(1, 2))):
        name = names[p.engine_stage[e]]
        fastest = len(p.pes[e]) - 1  # PE = M refines every other PE option: the fastest
        p.ensure(e, np.array([fastest]))
        best = float(np.min(p.cycles[e, fastest]))
        if best <= target_cycles:
            raise DoesNotFitError(
                f"network {p.network.name!r}: layer {name!r} cannot reach "
                f"{target_fps:g} frames/s ({target_cycles:.1f} cycles) within the budget"
            )
        raise ValueError(
            f"target_fps={target_fps:g} is unreachable: layer {name!r} needs at least "
            f"{best:.0f} cycles per frame even fully parallel, more than {target_cycles:.1f}"
        )
    flat = np.where(ok, cost, np.inf).reshape(p.n_engines, -1).argmin(axis=1)
    pe_i, simd_i = np.unravel_index(flat, p.cycles.shape[1:])
    return pe_i.astype(np.int64), simd_i.astype(np.int64)


def fold(
    network: Network,
    device: str | Device,
    clock_mhz: float = 200.0,
    mode: str = "max_throughput",
    target_fps: float | None = None,
    max_utilisation: float = DEFAULT_MAX_UTILISATION,
) -> Folding:
    """Choose PE and SIMD for every engine layer.

    Args:
        network: the network (with its sparsity statistics).
        device: device name (see `DEVICES`) or a `Device`.
        clock_mhz: clock frequency, used to turn `target_fps` into cycles.
        mode: "max_throughput" (greedy, fastest folding within the budget) or
            "min_resources" (cheapest folding reaching `target_fps`).
        target_fps: frames per second required in "min_resources" mode.
        max_utilisation: cap on every resource, as a fraction of the device.

    Returns:
        A Folding whose resources never exceed the budget.

    Raises:
        DoesNotFitError: even PE = SIMD = 1 exceeds the budget (the message names each
            resource over and by how much), or, in "min_resources" mode, the target needs
            more than the budget.
        ValueError: an unknown mode or device, or an unreachable target.
    """
    if mode not in FOLD_MODES:
        raise ValueError(f"mode must be one of {FOLD_MODES}, got {mode!r}")
    dev = get_device(device)
    budget = dev.budget(max_utilisation)
    p = prepare(network, dev)
    if mode == "max_throughput":
        p.ensure_fitting(budget)  # the greedy only ever looks at options that fit
    else:  # the cheapest of all the options computed
        p.ensure_affordable(budget)
        p.complete()
    zeros = np.zeros(p.n_engines, dtype=np.int64)
    _check_fits(p, zeros, zeros, dev, max_utilisation, f"network {network.name!r} at PE = SIMD = 1")
    if mode == "max_throughput":
        pe_i, simd_i = _max_throughput(p, budget)
    else:
        if target_fps is None or target_fps <= 0:
            raise ValueError(f"mode 'min_resources' needs target_fps > 0, got {target_fps!r}")
        pe_i, simd_i = _min_resources(p, budget, clock_mhz * 1e6 / target_fps, target_fps)
        _check_fits(
            p,
            pe_i,
            simd_i,
            dev,
            max_utilisation,
            f"network {network.name!r} at the cheapest folding reaching {target_fps:g} frames/s",
        )
    return p.folding(pe_i, simd_i)
