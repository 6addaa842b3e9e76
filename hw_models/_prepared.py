"""Per-network precomputation: expected cycles and resources of every (PE, SIMD) option of
every engine, so that evaluating a folding is a table lookup (vectorised over candidates).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ._buffers import skip_depth_frames, stage_fixed_resources
from ._cycles import (
    fixed_stage_cycles,
    lane_max_table,
    latency_cycles,
    loader_cycles,
    stage_roles,
    steady_interval,
)
from ._devices import Device, get_device
from ._expected import EngineCycles, engine_cycle_table, request_many
from ._folding import Folding, shared_pe_options, shared_simd_options
from ._network import LayerSpec, Network
from ._resources import EngineShape, engine_resources, engine_resources_many

_CYCLE_CACHE: weakref.WeakKeyDictionary[Network, tuple[EngineCycles, ...]] = (
    weakref.WeakKeyDictionary()
)
_PREPARED_CACHE: weakref.WeakKeyDictionary[Network, dict[tuple[int, int], PreparedNetwork]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Evaluation:
    """Expected performance and resources of n candidate foldings."""

    stage_cycles: np.ndarray  # (n, stages) expected work per frame
    resources: np.ndarray  # (n, 4) LUT, FF, DSP, BRAM18
    roles: tuple[str, ...]  # timing role of every stage
    vectors: np.ndarray  # (stages,) vectors per frame of engines (1 for other stages)

    @property
    def interval_cycles(self) -> np.ndarray:
        """(n,) steady-state cycles per frame: the slowest stage, or the buffer bound of two
        neighbours (SPEC 4); an engine's last vector is its mean vector."""
        last = self.stage_cycles / np.maximum(self.vectors, 1) * (self.vectors > 0)
        return steady_interval(self.roles, self.stage_cycles.T, last.T)

    @property
    def latency_cycles(self) -> np.ndarray:
        """(n,) one frame through the empty pipeline (SPEC 4)."""
        return latency_cycles(self.roles, self.stage_cycles.T)


def _engine_shape(network: Network, layer: LayerSpec) -> EngineShape:
    depth = 0
    if layer.kind == "matmul":
        assert layer.second_input is not None  # checked by LayerSpec
        depth = skip_depth_frames(
            network.stage_of(layer.second_input), network.stage_of(layer.name)
        )
    return EngineShape.of(layer, layer is network.layers[-1], depth)


def engine_cycles(network: Network) -> tuple[EngineCycles, ...]:
    """Expected-cycle tables of every engine, filled on demand (device independent, cached
    while the network object lives)."""
    if network not in _CYCLE_CACHE:
        models = tuple(
            EngineCycles(layer, shared_pe_options(layer.rows), shared_simd_options(layer.fan_in))
            for layer in network.engines
        )
        EngineCycles.link(models)
        _CYCLE_CACHE[network] = models
    return _CYCLE_CACHE[network]


class PreparedNetwork:
    """Option tables of one network on one device's DSP geometry.

    Engine e has options `pes[e]` x `simds[e]`; `cycles[e, i, j]` (expected cycles per frame)
    and `resources[e, i, j]` (4,) are padded to a common shape with +inf cycles and
    resources, so illegal options are never chosen. Resources are whole numbers per stage and
    known for every option; cycles are NaN until computed (`ensure`, `ensure_affordable`,
    `ensure_fitting`; `evaluate` computes what it needs).
    """

    def __init__(self, network: Network, device: Device) -> None:
        # a weak reference: the caches are keyed weakly by the network, so a strong one
        # from the cached value would keep every network ever prepared alive
        self._network = weakref.ref(network)
        self._dsp_ports = (device.dsp_port_a, device.dsp_port_b)
        self.stage_names = network.stage_names
        engines = network.engines
        self.engine_stage = np.array([network.stage_of(e.name) for e in engines], dtype=np.int64)
        self.pes = [shared_pe_options(e.rows) for e in engines]
        self.simds = [shared_simd_options(e.fan_in) for e in engines]
        n_pe = max((len(p) for p in self.pes), default=1)
        n_simd = max((len(s) for s in self.simds), default=1)
        self.cycles = np.empty((len(engines), n_pe, n_simd))
        self.cycles.fill(np.inf)
        self._engine_cycles = engine_cycles(network)
        # every engine's options priced in one vectorised pass, padded with PE = SIMD = 1
        shapes = [_engine_shape(network, layer) for layer in engines]
        pe = np.empty((len(engines), n_pe, 1), dtype=np.int64)
        pe.fill(1)
        simd = np.empty((len(engines), 1, n_simd), dtype=np.int64)
        simd.fill(1)
        words = np.zeros((len(engines), n_pe, n_simd), dtype=np.int64)
        valid = np.zeros((len(engines), n_pe, n_simd, 1), dtype=bool)
        for e, (layer, model) in enumerate(zip(engines, self._engine_cycles, strict=True)):
            pes, simds = self.pes[e], self.simds[e]
            pe[e, : len(pes), 0] = pes
            simd[e, 0, : len(simds)] = simds
            valid[e, : len(pes), : len(simds)] = True
            if shapes[e].weight_store == "sparse":  # only sparse weights use the lane words
                words[e, : len(pes), : len(simds)] = lane_max_table(layer.row_nnz, pes, simds)
            self.cycles[e, : len(pes), : len(simds)] = model.table
        res = engine_resources_many(shapes, pe, simd, words, device.dsp_port_a, device.dsp_port_b)
        self.resources = np.where(valid, res, np.inf)
        fixed = stage_fixed_resources(network)
        self.resources[:, :, :] += np.ceil(fixed[self.engine_stage])[:, None, None, :]
        self.resources = np.ceil(self.resources)
        fixed_stage = np.ones(len(fixed), dtype=bool)
        fixed_stage[self.engine_stage] = False
        self._fixed_stage = fixed_stage  # (stages,) not an engine
        self.fixed_resources = np.ceil(fixed[fixed_stage]).sum(axis=0)
        self.fixed_stage_resources = np.ceil(fixed)
        self.roles = stage_roles(network)
        self.stage_vectors = np.zeros(len(self.stage_names))
        self.stage_vectors[self.engine_stage] = [layer.n_vectors for layer in engines]
        self.stage_cycles_fixed = np.zeros(len(self.stage_names))
        self.stage_cycles_fixed[0] = loader_cycles(network.layers[0].in_shape)
        for i, layer in enumerate(network.layers):
            if not layer.is_engine:
                self.stage_cycles_fixed[i + 1] = fixed_stage_cycles(layer)
        # value -> option index lookups (PE: divisors of M; SIMD: log2)
        self._pe_index = np.full(
            (len(engines), max((e.rows for e in engines), default=0) + 1), -1, dtype=np.int64
        )
        for e, pes in enumerate(self.pes):
            self._pe_index[e, pes] = np.arange(len(pes))

    @property
    def network(self) -> Network:
        """The network these tables describe."""
        network = self._network()
        if network is None:
            raise ReferenceError("the network of these tables no longer exists")
        return network

    def ensure(self, e: int, pe_index: np.ndarray) -> None:
        """Compute the expected cycles of engine e's PE options `pe_index` (all SIMD)."""
        pe_index = np.unique(pe_index)
        if np.isnan(self.cycles[e, pe_index, : len(self.simds[e])]).any():
            self.cycles[e, pe_index, : len(self.simds[e])] = self._engine_cycles[e].rows(pe_index)

    def _fitting(self, budget: np.ndarray) -> np.ndarray:
        """(E, P, S) options that fit `budget` next to the cheapest options of all other
        engines; the others can never be chosen."""
        cheapest = self.resources.min(axis=(1, 2))  # (E, 4) per-resource lower bounds
        slack = budget - self.fixed_resources - cheapest.sum(axis=0) + cheapest  # (E, 4)
        return np.all(self.resources <= slack[:, None, None], axis=-1)

    def ensure_affordable(self, budget: np.ndarray) -> None:
        """Compute every PE option with at least one (PE, SIMD) that fits `budget` next to the
        cheapest options of all other engines (all its SIMD options)."""
        affordable = self._fitting(budget).any(axis=2)
        for e in range(self.n_engines):
            self.ensure(e, np.flatnonzero(affordable[e]))

    def complete(self) -> None:
        """Compute the SIMD options `ensure_fitting` left out of the PE options it computed, so
        that every PE option computed has all its SIMD options (as `ensure_affordable`)."""
        for e, simds in enumerate(self.simds):
            table = self.cycles[e, :, : len(simds)]
            partial = np.isnan(table).any(axis=1) & ~np.isnan(table).all(axis=1)
            if partial.any():
                self.ensure(e, partial.nonzero()[0])

    def ensure_fitting(self, budget: np.ndarray) -> None:
        """Compute every option (PE, SIMD) that fits `budget` next to the cheapest options of
        all other engines: all the "max_throughput" greedy can look at. The PE options are
        grouped as by `ensure_affordable`, so the values are the same; SIMD options that fit
        with none of them, and options of PE = M that do not fit, are left out (NaN)."""
        fits = self._fitting(budget)  # (E, P, S)
        fit_rows = np.logical_or.reduce(fits, axis=2)  # (E, P)
        fit_columns = np.logical_or.reduce(fits & fit_rows[:, :, None], axis=1)  # (E, S)
        rows = [r.nonzero()[0] for r in fit_rows]
        columns = [c[: len(s)] for c, s in zip(fit_columns, self.simds, strict=True)]
        one_row = [
            f[len(p) - 1, : len(s)] for f, p, s in zip(fits, self.pes, self.simds, strict=True)
        ]
        request_many(self._engine_cycles, rows, columns, one_row)
        for e, (model, r) in enumerate(zip(self._engine_cycles, rows, strict=True)):
            self.cycles[e, r, : len(self.simds[e])] = model.table[r]

    @property
    def n_engines(self) -> int:
        """Number of foldable layers."""
        return len(self.pes)

    def indices(self, folding: Folding) -> tuple[np.ndarray, np.ndarray]:
        """(E,) option indices (PE, SIMD) of a folding, checking it."""
        folding.check(self.network)
        pe = np.array([folding[e.name][0] for e in self.network.engines], dtype=np.int64)
        simd = np.array([folding[e.name][1] for e in self.network.engines], dtype=np.int64)
        return self.option_indices(pe, simd)

    def option_indices(self, pe: np.ndarray, simd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Option indices for PE and SIMD values of shape (..., E) (legality not checked)."""
        e = np.arange(self.n_engines)
        return self._pe_index[e, pe], np.log2(simd).astype(np.int64)

    def folding(self, pe_index: np.ndarray, simd_index: np.ndarray) -> Folding:
        """The Folding for (E,) option indices."""
        return Folding(
            tuple(
                (layer.name, int(self.pes[e][pe_index[e]]), int(self.simds[e][simd_index[e]]))
                for e, layer in enumerate(self.network.engines)
            )
        )

    def evaluate(self, pe_index: np.ndarray, simd_index: np.ndarray) -> Evaluation:
        """Evaluate n foldings given as (n, E) option indices (vectorised)."""
        pe_index, simd_index = np.atleast_2d(pe_index), np.atleast_2d(simd_index)
        e = np.arange(self.n_engines)
        missing = np.isnan(self.cycles[e, pe_index, simd_index])
        if missing.any():
            # a PE option never computed here: compute the asked PE options of every engine
            # (grouped as ever); otherwise only SIMD options left out by `ensure_fitting`
            absent = ~np.isfinite(self.cycles[e, pe_index]).any(axis=-1)  # NaN, or +inf padding
            for engine in e if absent.any() else np.flatnonzero(missing.any(axis=0)):
                self.ensure(engine, pe_index[:, engine])
        cycles = np.broadcast_to(self.stage_cycles_fixed, (len(pe_index), len(self.stage_names)))
        cycles = cycles.copy()
        cycles[:, self.engine_stage] = self.cycles[e, pe_index, simd_index]
        res = self.resources[e, pe_index, simd_index].sum(axis=1) + self.fixed_resources
        return Evaluation(cycles, res, self.roles, self.stage_vectors)

    def reference_option(self, e: int, pe: int, simd: int) -> tuple[float, np.ndarray]:
        """Expected cycles per frame and (4,) resources of engine `e` at one (PE, SIMD), from
        the per-layer formulas without the option tables: the unvectorised reference the
        tables are checked and benchmarked against (bench/hw_model.py)."""
        layer = self.network.engines[e]
        pes, simds = np.array([pe]), np.array([simd])
        cycles = float(engine_cycle_table(layer, pes, simds)[0, 0])
        res = engine_resources(
            _engine_shape(self.network, layer),
            pes[:, None],
            simds[None, :],
            lane_max_table(layer.row_nnz, pes, simds),
            *self._dsp_ports,
        )[0, 0]
        return cycles, np.ceil(res + self.fixed_stage_resources[self.engine_stage[e]])

    def stage_resources(self, pe_index: np.ndarray, simd_index: np.ndarray) -> np.ndarray:
        """(stages, 4) resources of one folding's stages."""
        out = self.fixed_stage_resources.copy()
        e = np.arange(self.n_engines)
        out[self.engine_stage] = self.resources[e, pe_index, simd_index]
        return out


def prepare(network: Network, device: str | Device) -> PreparedNetwork:
    """Option tables for `network` on `device` (cached while the network object lives)."""
    dev = get_device(device)
    key = (dev.dsp_port_a, dev.dsp_port_b)
    per_device = _PREPARED_CACHE.setdefault(network, {})
    if key not in per_device:
        per_device[key] = PreparedNetwork(network, dev)
    return per_device[key]


def expected_stage_cycles(network: Network, folding: Folding) -> np.ndarray:
    """(stages,) expected work per frame of every stage (stage 0 = loader), from the layers'
    statistics (SPEC section 5); exact for stages without activation skipping."""
    folding.check(network)
    out = np.zeros(len(network.stage_names))
    out[0] = loader_cycles(network.layers[0].in_shape)
    models = iter(engine_cycles(network))
    for i, layer in enumerate(network.layers):
        if layer.is_engine:
            pe, simd = folding[layer.name]
            model = next(models)
            row = model.rows(np.flatnonzero(model.pes == pe))[0]
            out[i + 1] = row[int(simd).bit_length() - 1]
        else:
            out[i + 1] = fixed_stage_cycles(layer)
    return out
