"""Choosing PE, SIMD and pixel parallelism per stage under a device budget (FINN
SetFolding-like)."""

from __future__ import annotations

import numpy as np

from ._buffers import extra_bank_resources
from ._contract import BANK_OPTIONS, DEFAULT_BANKS
from ._cycles import buffer_spans
from ._devices import DEFAULT_MAX_UTILISATION, Device, get_device
from ._folding import Folding, bankable
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
    indices: tuple[np.ndarray, ...],
    device: Device,
    max_utilisation: float,
    what: str,
) -> None:
    used = prepared.evaluate(*indices).resources[0]
    budget = device.budget(max_utilisation)
    if np.any(used > budget):
        raise DoesNotFitError(_over_budget_message(what, device, used, budget, max_utilisation))


def _units(p: PreparedNetwork) -> list[tuple[np.ndarray, np.ndarray]]:
    """What the greedy chooses among: per engine its (px, PE, SIMD) options flattened, per
    pixel stage its px options; each as (cycles (O,), resources (O, 4)), option 0 the
    cheapest (px = PE = SIMD = 1)."""
    n_e = p.n_engines
    cycles = [p.searched_cycles(e) for e in range(n_e)]
    units = list(zip(cycles, p.resources.reshape(n_e, -1, 4), strict=True))
    base = p.stage_extra[:, :1]  # px = 1 adds nothing
    units += list(zip(p.stage_cycles, p.stage_extra - base, strict=True))
    return units


def _split(p: PreparedNetwork, pick: list[int]) -> tuple[np.ndarray, ...]:
    """Option indices (PE, SIMD, px of the engines; px of the pixel stages) of the units'
    flat picks."""
    n_e = p.n_engines
    x_i, pe_i, simd_i = np.unravel_index(np.array(pick[:n_e], dtype=np.int64), p.cycles.shape[1:])
    stage_px = np.array(pick[n_e:], dtype=np.int64)
    return pe_i.astype(np.int64), simd_i.astype(np.int64), x_i.astype(np.int64), stage_px


def _deciding_cycles(
    p: PreparedNetwork,
    e: int,
    where: np.ndarray,
    option_cycles: np.ndarray,
    fits: np.ndarray,
    cost: np.ndarray,
    current: float,
    second: float,
) -> np.ndarray:
    """Cycles of engine e's options `where` (flat indices) with every one that fits and could
    be this step's choice computed: those costing no more than the cheapest known one that is
    fast enough (all of them when none is). The choice is then the one it would be with every
    option known."""
    while True:
        unknown = fits & np.isnan(option_cycles)
        if not unknown.any():
            return option_cycles
        enough = fits & (option_cycles < current) & (option_cycles <= second)
        deciding = unknown & (cost <= np.where(enough, cost, np.inf).min())
        if not deciding.any():
            return option_cycles
        p.ensure_options(e, where[deciding])
        option_cycles = p.searched_cycles(e)[where]


def _max_throughput(p: PreparedNetwork, budget: np.ndarray) -> tuple[np.ndarray, ...]:
    """Greedy: repeatedly speed up the slowest stage (an engine, or the loader or a max-pool
    with a choice of pixel parallelism) with its cheapest faster option that keeps the total
    within budget, preferring the cheapest one that is no longer the slowest stage. Stops
    when the slowest stage cannot be made faster (or is a fixed stage without options).
    An engine's options are narrowed to those that fit the budget next to the cheapest of all
    the others (`PreparedNetwork._fitting`), and PE = SIMD = px = 1: no others ever fit."""
    units = _units(p)
    n_e = p.n_engines
    narrowed = (p._fitting(budget) & p.searched).reshape(n_e, -1)
    narrowed[:, 0] = True
    where = [np.flatnonzero(n) for n in narrowed]
    where += [np.arange(len(option_cycles)) for option_cycles, _ in units[n_e:]]
    units = [(c[w], res[w]) for (c, res), w in zip(units, where, strict=True)]
    fixed_only = p._fixed_stage.copy()
    fixed_only[p.pixel_stage] = False
    fixed_max = float(p.stage_cycles_fixed[fixed_only].max(initial=0.0))
    cost = [(res / budget).sum(axis=-1) for _, res in units]  # options as budget fractions
    pick = [0] * len(units)
    cycles = [float(c[0]) for c, _ in units]
    total = sum((res[0] for _, res in units), np.zeros(4)) + p.fixed_resources
    while True:
        b = max(range(len(units)), key=cycles.__getitem__)
        if cycles[b] <= fixed_max:
            break
        second = max([fixed_max, *cycles[:b], *cycles[b + 1 :]])
        option_cycles, options = units[b]
        slack = budget - total + options[pick[b]]
        # (few calls, as ufuncs and methods: this loop runs a few dozen times per fold, on
        # small arrays, so call overhead is its cost)
        fits = np.logical_and.reduce(options <= slack, axis=1)
        if b < n_e:  # options not computed yet (NaN): those that could be chosen
            option_cycles = _deciding_cycles(
                p, b, where[b], option_cycles, fits, cost[b], cycles[b], second
            )
            units[b] = option_cycles, options
        faster = fits & (option_cycles < cycles[b])
        enough = faster & (option_cycles <= second)
        # the cheapest option that is enough, else the cheapest faster one (costs are finite)
        by_cost = np.where(enough, cost[b], np.inf)
        choice = int(by_cost.argmin())
        if by_cost[choice] == np.inf:
            by_cost = np.where(faster, cost[b], np.inf)
            choice = int(by_cost.argmin())
            if by_cost[choice] == np.inf:
                break
        total += options[choice] - options[pick[b]]
        pick[b], cycles[b] = choice, float(option_cycles[choice])
    return _split(p, [int(w[i]) for w, i in zip(where, pick, strict=True)])


def _min_resources(
    p: PreparedNetwork, budget: np.ndarray, target_cycles: float, target_fps: float
) -> tuple[np.ndarray, ...]:
    """Per engine and pixel stage, the cheapest option whose expected cycles meet the target
    interval."""
    names = p.stage_names
    fixed_only = p._fixed_stage.copy()
    fixed_only[p.pixel_stage] = False
    fixed_slow = np.flatnonzero(fixed_only & (p.stage_cycles_fixed > target_cycles))
    if len(fixed_slow):
        s = int(fixed_slow[0])
        raise ValueError(
            f"target_fps={target_fps:g} is unreachable: stage {names[s]!r} takes "
            f"{p.stage_cycles_fixed[s]:.0f} cycles per frame, more than "
            f"{target_cycles:.1f}"
        )
    for u, s in enumerate(p.pixel_stage):
        if not (p.stage_cycles[u] <= target_cycles).any():
            raise ValueError(
                f"target_fps={target_fps:g} is unreachable: stage {names[s]!r} takes "
                f"{p.stage_cycles[u].min():.0f} cycles per frame at its most parallel, more "
                f"than {target_cycles:.1f}"
            )
    ok = p.searched & (p.cycles <= target_cycles)  # NaN (not computed) compares False
    for e in np.flatnonzero(~ok.any(axis=(1, 2, 3))):
        name = names[p.engine_stage[e]]
        fastest_pe = len(p.pes[e]) - 1  # PE = M refines every other PE option: the fastest
        best = np.inf
        for x in range(len(p.pxs[e])):
            p.ensure(e, np.array([fastest_pe]), x)
            best = min(best, float(np.min(p.cycles[e, x, fastest_pe])))
        if best <= target_cycles:
            raise DoesNotFitError(
                f"network {p.network.name!r}: layer {name!r} cannot reach "
                f"{target_fps:g} frames/s ({target_cycles:.1f} cycles) within the budget"
            )
        raise ValueError(
            f"target_fps={target_fps:g} is unreachable: layer {name!r} needs at least "
            f"{best:.0f} cycles per frame even fully parallel, more than {target_cycles:.1f}"
        )
    units = _units(p)
    pick = []
    for option_cycles, options in units:
        cost = np.where(option_cycles <= target_cycles, (options / budget).sum(axis=-1), np.inf)
        pick.append(int(cost.argmin()))
    return _split(p, pick)


def _third_frames(
    p: PreparedNetwork, chosen: tuple[np.ndarray, ...], budget: np.ndarray
) -> dict[str, int]:
    """Buffers given a third frame: those whose two frames bound the interval above the
    slowest stage's work (short stages, whose fill and drain do not fit two; SPEC 4), the
    longest-held first, while the design stays within budget. Buffers a skip buffer spans
    keep two (`bankable`)."""
    ev = p.evaluate(*chosen)
    work, last = ev.stage_cycles[0], ev.last_cycles[0]
    spans = buffer_spans(p.roles, work, last)
    binding = (spans / DEFAULT_BANKS > work.max()) & bankable(p.network)
    if not binding.any():
        return {}
    pixels = dict(p.folding(*chosen).pixels)
    used = ev.resources[0]
    banks: dict[str, int] = {}
    for i in np.flatnonzero(binding)[np.argsort(-spans[binding], kind="stable")]:
        more = banks | {p.stage_names[i]: max(BANK_OPTIONS)}
        if np.any(used + extra_bank_resources(p.network, pixels, more).sum(axis=0) > budget):
            break  # this buffer still binds: a third frame elsewhere would not help
        banks = more
    return banks


def fold(
    network: Network,
    device: str | Device,
    clock_mhz: float = 200.0,
    mode: str = "max_throughput",
    target_fps: float | None = None,
    max_utilisation: float = DEFAULT_MAX_UTILISATION,
) -> Folding:
    """Choose PE and SIMD for every engine layer, and the pixel parallelism of the stages
    that have one (SPEC section 2).

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
    _check_fits(
        p, (zeros, zeros), dev, max_utilisation, f"network {network.name!r} at PE = SIMD = 1"
    )
    if mode == "max_throughput":
        chosen = _max_throughput(p, budget)
    else:
        if target_fps is None or target_fps <= 0:
            raise ValueError(f"mode 'min_resources' needs target_fps > 0, got {target_fps!r}")
        chosen = _min_resources(p, budget, clock_mhz * 1e6 / target_fps, target_fps)
        _check_fits(
            p,
            chosen,
            dev,
            max_utilisation,
            f"network {network.name!r} at the cheapest folding reaching {target_fps:g} frames/s",
        )
    return p.folding(*chosen, banks=_third_frames(p, chosen, budget))
