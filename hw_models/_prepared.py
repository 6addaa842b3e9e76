"""Per-network precomputation: expected cycles and resources of every (px, PE, SIMD) option
of every engine, and of every pixel parallelism of the loader and max-pools, so that
evaluating a folding is a table lookup (vectorised over candidates).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ._buffers import fixed_and_pixel_resources, skip_depth_frames
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
from ._folding import (
    Folding,
    layer_simd_options,
    pixel_options,
    shared_pe_options,
)
from ._network import LayerSpec, Network
from ._resources import EngineShape, engine_resources, engine_resources_many

_CYCLE_CACHE: weakref.WeakKeyDictionary[Network, list[list[EngineCycles]]] = (
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
    groups: np.ndarray  # (n, stages) groups (vectors of px windows) per frame of engines
    banks: np.ndarray | None = None  # (stages - 1,) or (n, stages - 1) buffer frames; None: 2

    @property
    def last_cycles(self) -> np.ndarray:
        """(n, stages) an engine's last group, taken as its mean group (0 for other stages)."""
        return self.stage_cycles / np.maximum(self.groups, 1) * (self.groups > 0)

    @property
    def interval_cycles(self) -> np.ndarray:
        """(n,) steady-state cycles per frame: the slowest stage, or the buffer bound of two
        neighbours (SPEC 4)."""
        banks = None if self.banks is None else np.asarray(self.banks).T
        return steady_interval(self.roles, self.stage_cycles.T, self.last_cycles.T, banks=banks)

    @property
    def latency_cycles(self) -> np.ndarray:
        """(n,) one frame through the empty pipeline (SPEC 4)."""
        return latency_cycles(self.roles, self.stage_cycles.T)


def _engine_shape(network: Network, layer: LayerSpec) -> EngineShape:
    depth = 0
    if layer.kind == "matmul":
        assert layer.second_input is not None  # checked by LayerSpec
        depth = skip_depth_frames(
            network.stage_of(layer.second_input), network.stage_of(layer.name), in_place=True
        )
    return EngineShape.of(layer, layer is network.layers[-1], depth)


def engine_cycles(network: Network) -> list[list[EngineCycles]]:
    """Expected-cycle tables of every engine and pixel parallelism (px options in the order of
    `pixel_options`), filled on demand (device independent, cached while the network object
    lives). The px > 1 models share their px = 1 model's statistics."""
    if network not in _CYCLE_CACHE:
        bases = tuple(
            EngineCycles(layer, shared_pe_options(layer.rows), layer_simd_options(layer))
            for layer in network.engines
        )
        EngineCycles.link(bases)
        _CYCLE_CACHE[network] = [
            [base]
            + [
                EngineCycles(base.layer, base.pes, base.simds, slots=int(px), base=base)
                for px in pixel_options(network, base.layer.name)[1:]
            ]
            for base in bases
        ]
    return _CYCLE_CACHE[network]


class PreparedNetwork:
    """Option tables of one network on one device's DSP geometry.

    Engine e has options `pxs[e]` x `pes[e]` x `simds[e]`; `cycles[e, x, i, j]` (expected
    cycles per frame) and `resources[e, x, i, j]` (4,) are padded to a common shape with +inf
    cycles and resources, so illegal options are never chosen. Resources are whole numbers per
    stage and known for every option; cycles are NaN until computed (`ensure`,
    `ensure_affordable`, `ensure_fitting`, `ensure_options`; `evaluate` computes what it
    needs).
    The folding search considers px > 1 only with PE = M (`searched`): slots replicate the
    window registers, so an engine fills its lanes first; any legal folding is evaluated.
    The loader and max-pools with more than one pixel parallelism are *pixel stages* u:
    options `stage_pxs[u]`, `stage_cycles[u, x]`, and `stage_extra[u, x]` (4,) the resources
    their px adds to px = 1 (their logic and the buffer they read, banked for px windows).
    An engine's px also banks its input buffer: that is in its `resources`.
    """

    def __init__(self, network: Network, device: Device) -> None:
        # a weak reference: the caches are keyed weakly by the network, so a strong one
        # from the cached value would keep every network ever prepared alive
        self._network = weakref.ref(network)
        self._dsp_ports = (device.dsp_port_a, device.dsp_port_b)
        self.stage_names = network.stage_names
        self.roles = stage_roles(network)
        engines = network.engines
        self.engine_stage = np.array([network.stage_of(e.name) for e in engines], dtype=np.int64)
        self.pes = [shared_pe_options(e.rows) for e in engines]
        self.simds = [layer_simd_options(e) for e in engines]
        options = {name: pixel_options(network, name) for name in self.stage_names}
        self.pxs = [options[e.name] for e in engines]
        n_px = max((len(x) for x in self.pxs), default=1)
        n_pe = max((len(p) for p in self.pes), default=1)
        n_simd = max((len(s) for s in self.simds), default=1)
        self.cycles = np.empty((len(engines), n_px, n_pe, n_simd))
        self.cycles.fill(np.inf)
        self._engine_cycles = engine_cycles(network)
        # every engine's options priced in one vectorised pass, padded with PE = SIMD = px = 1
        shapes = [_engine_shape(network, layer) for layer in engines]
        pe = np.ones((len(engines), n_pe, 1), dtype=np.int64)
        simd = np.ones((len(engines), 1, n_simd), dtype=np.int64)
        px = np.ones((len(engines), n_px), dtype=np.int64)
        words = np.zeros((len(engines), n_pe, n_simd), dtype=np.int64)
        valid = np.zeros((len(engines), n_px, n_pe, n_simd, 1), dtype=bool)
        for e, (layer, models) in enumerate(zip(engines, self._engine_cycles, strict=True)):
            pes, simds, pxs = self.pes[e], self.simds[e], self.pxs[e]
            pe[e, : len(pes), 0] = pes
            simd[e, 0, : len(simds)] = simds
            px[e, : len(pxs)] = pxs
            valid[e, : len(pxs), : len(pes), : len(simds)] = True
            if shapes[e].weight_store == "sparse":  # only sparse weights use the lane words
                words[e, : len(pes), : len(simds)] = lane_max_table(layer.row_nnz, pes, simds)
            for x, model in enumerate(models):
                self.cycles[e, x, : len(pes), : len(simds)] = model.table
        self._px_values = px  # (E, X), padded with 1
        # the folding search fills the lanes before it adds slots: px > 1 only at PE = M
        self.searched = np.ones(self.cycles.shape, dtype=bool)
        for e, pes in enumerate(self.pes):
            self.searched[e, 1:, : len(pes) - 1] = False
        res = engine_resources_many(
            shapes, pe, simd, words, device.dsp_port_a, device.dsp_port_b, px
        )
        np.copyto(res, np.inf, where=~valid)  # (in place: the table is large)
        fixed, extras = fixed_and_pixel_resources(
            network, {name: v[1:].tolist() for name, v in options.items() if len(v) > 1}
        )
        res += np.ceil(fixed[self.engine_stage])[:, None, None, None, :]
        banked = np.zeros((len(engines), n_px, 4))  # px > 1 banks the engine's input buffer
        for e, layer in enumerate(engines):
            for x, value in enumerate(self.pxs[e][1:].tolist(), start=1):
                banked[e, x] = extras[layer.name, value]
        res += np.ceil(banked)[:, :, None, None, :]
        self.resources = np.ceil(res, out=res)
        self._cheapest = self.resources.reshape(len(engines), -1, 4).min(axis=1)  # (E, 4)
        fixed_stage = np.ones(len(fixed), dtype=bool)
        fixed_stage[self.engine_stage] = False
        self._fixed_stage = fixed_stage  # (stages,) not an engine
        self.fixed_resources = np.ceil(fixed[fixed_stage]).sum(axis=0)
        self.fixed_stage_resources = np.ceil(fixed)
        self.stage_vectors = np.zeros(len(self.stage_names))
        self.stage_vectors[self.engine_stage] = [layer.n_vectors for layer in engines]
        self.stage_cycles_fixed = np.zeros(len(self.stage_names))
        self.stage_cycles_fixed[0] = loader_cycles(network.layers[0].in_shape)
        for i, layer in enumerate(network.layers):
            if not layer.is_engine:
                self.stage_cycles_fixed[i + 1] = fixed_stage_cycles(layer)
        self._prepare_pixel_stages(network, options, extras)
        # value -> option index lookups (PE: divisors of M; SIMD: `layer_simd_options`)
        self._pe_index = _value_index(self.pes)
        self._simd_index = _value_index(self.simds)

    def _prepare_pixel_stages(
        self,
        network: Network,
        options: dict[str, np.ndarray],
        extras: dict[tuple[str, int], np.ndarray],
    ) -> None:
        """Options (`options`: each stage's `pixel_options`) of the loader and max-pools that
        may take several pixels per cycle."""
        layers = (None, *network.layers)
        units = [
            s
            for s, name in enumerate(self.stage_names)
            if self._fixed_stage[s] and len(options[name]) > 1
        ]
        self.pixel_stage = np.array(units, dtype=np.int64)
        self.stage_pxs = [options[self.stage_names[s]] for s in units]
        n_px = max((len(x) for x in self.stage_pxs), default=1)
        self.stage_cycles = np.full((len(units), n_px), np.inf)
        self.stage_extra = np.full((len(units), n_px, 4), np.inf)
        for u, s in enumerate(units):
            for x, value in enumerate(self.stage_pxs[u].tolist()):
                layer = layers[s]
                self.stage_cycles[u, x] = (
                    loader_cycles(network.layers[0].in_shape, value)
                    if layer is None
                    else fixed_stage_cycles(layer, value)
                )
                extra = extras.get((self.stage_names[s], value), np.zeros(4))
                self.stage_extra[u, x] = np.ceil(extra)

    @property
    def network(self) -> Network:
        """The network these tables describe."""
        network = self._network()
        if network is None:
            raise ReferenceError("the network of these tables no longer exists")
        return network

    def ensure(self, e: int, pe_index: np.ndarray, x: int = 0) -> None:
        """Compute the expected cycles of engine e's PE options `pe_index` (all SIMD) at its
        px option x."""
        pe_index = np.unique(pe_index)
        if np.isnan(self.cycles[e, x, pe_index, : len(self.simds[e])]).any():
            rows = self._engine_cycles[e][x].rows(pe_index)
            self.cycles[e, x, pe_index, : len(self.simds[e])] = rows

    def _fitting(self, budget: np.ndarray) -> np.ndarray:
        """(E, X, P, S) options that fit `budget` next to the cheapest options of all other
        engines and pixel stages; the others can never be chosen."""
        cheapest = self._cheapest  # (E, 4) per-resource lower bounds
        slack = budget - self.fixed_resources - cheapest.sum(axis=0) + cheapest  # (E, 4)
        fits = self.resources[..., 0] <= slack[:, None, None, None, 0]
        for r in range(1, 4):  # (faster than np.all over a last axis of 4)
            fits &= self.resources[..., r] <= slack[:, None, None, None, r]
        return fits

    def ensure_affordable(self, budget: np.ndarray) -> None:
        """Compute every (px, PE) option with at least one SIMD that fits `budget` next to the
        cheapest options of all other engines (all its SIMD options)."""
        affordable = self._fitting(budget).any(axis=3)
        for e in range(self.n_engines):
            for x in range(len(self.pxs[e])):
                self.ensure(e, np.flatnonzero(affordable[e, x]), x)

    def complete(self) -> None:
        """Compute the SIMD options `ensure_fitting` and `ensure_options` left out of the PE
        options they computed, so that every PE option computed has all its SIMD options (as
        `ensure_affordable`)."""
        for e, simds in enumerate(self.simds):
            for x in range(len(self.pxs[e])):
                table = self.cycles[e, x, :, : len(simds)]
                partial = np.isnan(table).any(axis=1) & ~np.isnan(table).all(axis=1)
                if partial.any():
                    self.ensure(e, partial.nonzero()[0], x)

    def ensure_fitting(self, budget: np.ndarray) -> None:
        """Group every option (px, PE, SIMD) that fits `budget` next to the cheapest options
        of all other engines (all the "max_throughput" greedy can look at) into the batches
        they are computed in, and compute those at px = 1. The PE options are grouped as by
        `ensure_affordable`, so the values are the same; SIMD options that fit with none of
        them are left out (NaN). Options at px > 1 (PE = M only) and those of PE = M that
        `expected_row_max` gives, which the greedy seldom reaches, are computed once asked
        for (`ensure_options`), in the batches set here."""
        fits = self._fitting(budget) & self.searched  # (E, X, P, S)
        fit_rows = np.logical_or.reduce(fits, axis=3)  # (E, X, P)
        fit_columns = np.logical_or.reduce(fits & fit_rows[..., None], axis=2)  # (E, X, S)
        rows = [fit_rows[e, 0].nonzero()[0] for e in range(self.n_engines)]
        for e, x in zip(*np.logical_or.reduce(fit_rows[:, 1:], axis=2).nonzero(), strict=True):
            self._engine_cycles[e][x + 1].reserve(fit_rows[e, x + 1].nonzero()[0])
        n_simd = [len(simds) for simds in self.simds]
        request_many(
            [models[0] for models in self._engine_cycles],
            rows,
            [fit_columns[e, 0, :n] for e, n in enumerate(n_simd)],
            [np.zeros(n, dtype=bool) for n in n_simd],  # none of PE = M yet
        )
        for e, (models, r) in enumerate(zip(self._engine_cycles, rows, strict=True)):
            self.cycles[e, 0, r, : n_simd[e]] = models[0].table[r]

    def ensure_options(self, e: int, options: np.ndarray) -> None:
        """Compute engine e's options `options` (flat indices into its (px, PE, SIMD) table):
        their SIMD columns of the batches they belong to, and their PE rows copied here."""
        x_i, pe_i, simd_i = np.unravel_index(options, self.cycles.shape[1:])
        n_pe, n_simd = len(self.pes[e]), len(self.simds[e])
        models, rows, columns, one_row, where = [], [], [], [], []
        for x in np.unique(x_i).tolist():
            at = x_i == x
            wanted = np.zeros((2, n_simd), dtype=bool)  # SIMD columns; of them, at PE = M
            wanted[0, simd_i[at]] = True
            wanted[1, simd_i[at & (pe_i == n_pe - 1)]] = True
            models.append(self._engine_cycles[e][x])
            rows.append(np.unique(pe_i[at]))
            columns.append(wanted[0])
            one_row.append(wanted[1])
            where.append(x)
        request_many(models, rows, columns, one_row)
        for model, r, x in zip(models, rows, where, strict=True):
            self.cycles[e, x, r, :n_simd] = model.table[r]

    def searched_cycles(self, e: int) -> np.ndarray:
        """(X * P * S,) engine e's expected cycles, flat, +inf where the folding search does
        not look (px > 1 below PE = M) and NaN where not computed yet."""
        return np.where(self.searched[e], self.cycles[e], np.inf).reshape(-1)

    @property
    def n_engines(self) -> int:
        """Number of foldable layers."""
        return len(self.pes)

    @property
    def n_pixel_stages(self) -> int:
        """Number of non-engine stages with a choice of pixel parallelism."""
        return len(self.pixel_stage)

    def indices(self, folding: Folding) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Option indices of a folding, checking it: (E,) PE, SIMD and px of the engines and
        (U,) px of the pixel stages."""
        folding.check(self.network)
        engines = self.network.engines
        pe = np.array([folding[e.name][0] for e in engines], dtype=np.int64)
        simd = np.array([folding[e.name][1] for e in engines], dtype=np.int64)
        pe_i, simd_i = self.option_indices(pe, simd)
        px_i = np.array(
            [_index_of(self.pxs[e], folding.px(layer.name)) for e, layer in enumerate(engines)],
            dtype=np.int64,
        )
        stage_px_i = np.array(
            [
                _index_of(self.stage_pxs[u], folding.px(self.stage_names[s]))
                for u, s in enumerate(self.pixel_stage)
            ],
            dtype=np.int64,
        )
        return pe_i, simd_i, px_i, stage_px_i

    def option_indices(self, pe: np.ndarray, simd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Option indices for PE and SIMD values of shape (..., E) (legality not checked)."""
        e = np.arange(self.n_engines)
        return self._pe_index[e, pe], self._simd_index[e, simd]

    def folding(
        self,
        pe_index: np.ndarray,
        simd_index: np.ndarray,
        px_index: np.ndarray | None = None,
        stage_px_index: np.ndarray | None = None,
        banks: dict[str, int] | None = None,
    ) -> Folding:
        """The Folding for (E,) option indices and (U,) pixel-stage px indices, and buffer
        frames `banks` (stage name -> frames; 2 when absent)."""
        engines = self.network.engines
        px_index = _px1_unless_given(px_index, self.n_engines)
        stage_px_index = _px1_unless_given(stage_px_index, self.n_pixel_stages)
        pixels = {layer.name: int(self.pxs[e][px_index[e]]) for e, layer in enumerate(engines)}
        for u, s in enumerate(self.pixel_stage):
            pixels[self.stage_names[s]] = int(self.stage_pxs[u][stage_px_index[u]])
        return Folding.from_dict(
            {
                layer.name: (int(self.pes[e][pe_index[e]]), int(self.simds[e][simd_index[e]]))
                for e, layer in enumerate(engines)
            },
            pixels,
            banks,
        )

    def evaluate(
        self,
        pe_index: np.ndarray,
        simd_index: np.ndarray,
        px_index: np.ndarray | None = None,
        stage_px_index: np.ndarray | None = None,
        banks: np.ndarray | None = None,
    ) -> Evaluation:
        """Evaluate n foldings given as (n, E) option indices and (n, U) pixel-stage px
        indices (vectorised; px indices default to px = 1), with buffer frames `banks`, (stages
        - 1,) or (n, stages - 1) (default 2 each; their memory is `extra_bank_resources`)."""
        pe_index, simd_index = np.atleast_2d(pe_index), np.atleast_2d(simd_index)
        n = len(pe_index)
        px_index = np.atleast_2d(_px1_unless_given(px_index, pe_index.shape))
        e = np.arange(self.n_engines)
        missing = np.isnan(self.cycles[e, px_index, pe_index, simd_index])
        if missing.any():
            # an option never computed here: compute the asked PE options of the engine and
            # px (grouped as ever)
            for engine in np.flatnonzero(missing.any(axis=0)):
                for x in np.unique(px_index[:, engine]).tolist():
                    self.ensure(engine, pe_index[px_index[:, engine] == x, engine], x)
        cycles = np.broadcast_to(self.stage_cycles_fixed, (n, len(self.stage_names))).copy()
        cycles[:, self.engine_stage] = self.cycles[e, px_index, pe_index, simd_index]
        groups = np.broadcast_to(self.stage_vectors, cycles.shape).copy()
        groups[:, self.engine_stage] /= self._px_values[e, px_index]
        res = self.resources[e, px_index, pe_index, simd_index].sum(axis=1) + self.fixed_resources
        if self.n_pixel_stages:
            u = np.arange(self.n_pixel_stages)
            stage_px_index = np.atleast_2d(
                _px1_unless_given(stage_px_index, (n, self.n_pixel_stages))
            )
            cycles[:, self.pixel_stage] = self.stage_cycles[u, stage_px_index]
            res = res + self.stage_extra[u, stage_px_index].sum(axis=1)
        return Evaluation(cycles, res, self.roles, groups, banks)

    def reference_option(self, e: int, pe: int, simd: int) -> tuple[float, np.ndarray]:
        """Expected cycles per frame and (4,) resources of engine `e` at one (PE, SIMD) and
        px = 1, from the per-layer formulas without the option tables: the unvectorised
        reference the tables are checked and benchmarked against (bench/hw_model.py)."""
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

    def stage_resources(
        self,
        pe_index: np.ndarray,
        simd_index: np.ndarray,
        px_index: np.ndarray | None = None,
        stage_px_index: np.ndarray | None = None,
    ) -> np.ndarray:
        """(stages, 4) resources of one folding's stages (what a px adds to the buffer a
        stage reads is counted with the stage)."""
        out = self.fixed_stage_resources.copy()
        e = np.arange(self.n_engines)
        px_index = _px1_unless_given(px_index, self.n_engines)
        out[self.engine_stage] = self.resources[e, px_index, pe_index, simd_index]
        if self.n_pixel_stages:
            u = np.arange(self.n_pixel_stages)
            stage_px_index = _px1_unless_given(stage_px_index, self.n_pixel_stages)
            out[self.pixel_stage] += self.stage_extra[u, stage_px_index]
        return out


def _value_index(options: list[np.ndarray]) -> np.ndarray:
    """(E, largest option + 1) index of each engine's option values, -1 where not an option."""
    out = np.full((len(options), max((int(o[-1]) for o in options), default=0) + 1), -1)
    for e, values in enumerate(options):
        out[e, values] = np.arange(len(values))
    return out


def _px1_unless_given(index: np.ndarray | None, shape: int | tuple[int, ...]) -> np.ndarray:
    """px option indices as given, or those of px = 1 (option 0) in `shape`."""
    return np.zeros(shape, np.int64) if index is None else np.asarray(index)


def _index_of(options: np.ndarray, value: int) -> int:
    """Index of `value` among `options` (the folding search's choices for a stage)."""
    found = np.flatnonzero(options == value)
    if not len(found):
        raise ValueError(f"px={value} is not among the options {options.tolist()}")
    return int(found[0])


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
    out[0] = loader_cycles(network.layers[0].in_shape, folding.px(network.stage_names[0]))
    models = iter(engine_cycles(network))
    for i, layer in enumerate(network.layers):
        px = folding.px(layer.name)
        if layer.is_engine:
            pe, simd = folding[layer.name]
            per_px = next(models)
            options = pixel_options(network, layer.name).tolist()
            base = per_px[0]
            model = (
                per_px[options.index(px)]
                if px in options
                else EngineCycles(base.layer, base.pes, base.simds, slots=px, base=base)
            )
            row = model.rows(np.flatnonzero(model.pes == pe))[0]
            out[i + 1] = row[np.flatnonzero(model.simds == simd)[0]]
        else:
            out[i + 1] = fixed_stage_cycles(layer, px)
    return out
