"""Turn an Optuna trial into a candidate, and choose what the next trial tries.

    space = param_space(spec, layers, relu_fed)    # `<layer>.<choice>` -> distribution
    sampler = make_sampler(spec, space, sensitivity)
    candidate = sample_candidate(trial, space, spec.pruning)

`JobSampler` wraps the Optuna sampler the job names with what the job knows:
1. warm start: the first trials are the uniform baselines (dense int8 first), each choice
   projected onto the layer's space, so the model-based sampler starts from known designs;
2. sensitivity: the next start-up trials (up to `sampler.startup_trials`) are drawn from the
   per-layer sensitivity (`search.sensitivity`): each trial draws one accuracy-loss tolerance,
   scaled per layer by its share of the multipliers, and every layer takes one of the most
   aggressive values whose measured loss stays within it (`shaped_choice`);
3. refinement: after the start-up trials, every `REFINE_PERIOD`-th trial steps along the
   accuracy floor (`search.refine`): one layer more aggressive from one of the fastest designs
   worth building, or one layer safer from a faster design just below the floor;
4. no design twice: a proposal equal to a design already tried is drawn again (up to
   `MAX_REDRAWS`, then left to independent sampling); the objective still refuses one that
   gets through (a duplicate is recorded PRUNED with `duplicate_of`).
The wrapped sampler (TPE by default) proposes the rest.
"""

import math

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from search.front import accuracy_floor
from search.refine import refined_design
from search.sensitivity import Sensitivity
from search.spec import JobSpec
from search.transforms import Candidate, LayerOverride, Pruning

MAX_REDRAWS = 8
REFINE_PERIOD = 2  # after the start-up trials, every second trial is a refinement step
TOLERANCE_RANGE = (0.002, 0.08)  # per-layer accuracy loss a shaped trial allows (log-uniform)
SHARE_WEIGHT_RANGE = (0.5, 2.0)  # how far a layer's multiplier share scales its tolerance
TRIED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)

Params = dict[str, float | int]


def _range_distribution(low: float, high: float, step: float) -> FloatDistribution | float:
    if low == high:
        return low
    steps = max(round((high - low) / step), 1)
    high = round(low + steps * step, 9)  # 0.0 + 19 * 0.05 is 0.9500000000000001
    return FloatDistribution(low, high, step=step)


def param_space(
    spec: JobSpec, layers: list[tuple[str, str]], relu_fed: set[str]
) -> dict[str, BaseDistribution | float]:
    """Every `<layer>.<choice>` of the job, named so the dashboard reads well (`fc1.w_bits`):
    its distribution, or the constant a one-value range fixes."""
    space: dict[str, BaseDistribution | float] = {}
    for name, kind in layers:
        layer = spec.layer_space(name, kind)
        ws = layer.weight_sparsity
        space[f"{name}.weight_sparsity"] = _range_distribution(ws.low, ws.high, layer.sparsity_step)
        space[f"{name}.w_bits"] = CategoricalDistribution(layer.w_bits)
        space[f"{name}.a_bits"] = CategoricalDistribution(layer.a_bits)
        if layer.act_sparsity is not None and name in relu_fed:
            act = layer.act_sparsity
            space[f"{name}.act_sparsity"] = _range_distribution(
                act.low, act.high, layer.sparsity_step
            )
    return space


def distributions(space: dict[str, BaseDistribution | float]) -> dict[str, BaseDistribution]:
    return {k: d for k, d in space.items() if isinstance(d, BaseDistribution)}


def candidate_from_params(params: Params, pruning: Pruning) -> Candidate:
    """The candidate of a full set of `<layer>.<choice>` values, pruned by the job's `pruning`."""
    layers: dict[str, dict] = {}
    for key, value in params.items():
        name, choice = key.rsplit(".", 1)
        layers.setdefault(name, {})[choice] = value
    return Candidate(
        layers={name: LayerOverride(**c) for name, c in layers.items()}, pruning=pruning
    )


def sample_candidate(
    trial: optuna.Trial, space: dict[str, BaseDistribution | float], pruning: Pruning
) -> Candidate:
    params: Params = {}
    for key, dist in space.items():
        if isinstance(dist, FloatDistribution):
            params[key] = round(trial.suggest_float(key, dist.low, dist.high, step=dist.step), 6)
        elif isinstance(dist, CategoricalDistribution):
            params[key] = trial.suggest_categorical(key, dist.choices)
        else:
            params[key] = dist
    return candidate_from_params(params, pruning)


def design_key(params: Params) -> tuple:
    """Identity of a design: its sampled values (sparsities rounded as candidates store them)."""
    return tuple(sorted((k, round(float(v), 6)) for k, v in params.items()))


# --- what the job knows ------------------------------------------------------------------------


def _grid(dist: BaseDistribution) -> list:
    """Values from the most conservative to the most aggressive: sparsity up, bits down."""
    if isinstance(dist, CategoricalDistribution):
        return sorted(dist.choices, reverse=True)
    steps = round((dist.high - dist.low) / dist.step)
    return [round(dist.low + i * dist.step, 6) for i in range(steps + 1)]


def project(dist: BaseDistribution | float, value: float) -> float | int:
    """The value of `dist` nearest to `value` (ties to the conservative side)."""
    if not isinstance(dist, BaseDistribution):
        return dist
    grid = _grid(dist)
    return min(grid, key=lambda v: (abs(v - value), grid.index(v)))


def starting_points(
    spec: JobSpec, space: dict[str, BaseDistribution | float]
) -> list[tuple[str, Params]]:
    """The uniform baselines (dense int8 first) as designs of the space, each once."""
    uniform = [("dense int8", 0.0, 8)] + [
        (f"uniform s={s:g} {b}b", s, b)
        for s in spec.baselines.weight_sparsity
        for b in spec.baselines.bits
    ]
    points, seen = [], set()
    for label, sparsity, bits in uniform:
        params: Params = {}
        for key, dist in distributions(space).items():
            choice = key.rsplit(".", 1)[1]
            target = {"weight_sparsity": sparsity, "act_sparsity": 0.0}.get(choice, bits)
            params[key] = project(dist, target)
        if design_key(params) not in seen:
            seen.add(design_key(params))
            points.append((label, params))
    return points


def shaped_choice(values: list, drops: list[float], tolerance: float, rng: np.random.Generator):
    """One of the most aggressive values whose loss is within `tolerance`: uniformly from the
    aggressive half of those allowed (`values` run from conservative to aggressive). When
    none is allowed, the value of least loss."""
    allowed = [v for v, d in zip(values, drops, strict=True) if d <= tolerance]
    if not allowed:
        return values[int(np.argmin(drops))]
    pool = allowed[len(allowed) // 2 :]
    return pool[int(rng.integers(len(pool)))]


def layer_tolerance(tolerance: float, share: float | None, n_layers: int) -> float:
    """A layer holding more of the multipliers is allowed more loss: pruning it frees more."""
    if share is None:
        return tolerance
    weight = min(max(share * n_layers, SHARE_WEIGHT_RANGE[0]), SHARE_WEIGHT_RANGE[1])
    return tolerance * weight


def shaped_design(
    space: dict[str, BaseDistribution], sensitivity: Sensitivity, rng: np.random.Generator
) -> Params:
    """One start-up design drawn from the sensitivity (see the module docstring)."""
    low, high = TOLERANCE_RANGE
    tolerance = math.exp(rng.uniform(math.log(low), math.log(high)))
    n_layers = len(sensitivity.share)
    params: Params = {}
    for key, dist in space.items():
        values = _grid(dist)
        if key not in sensitivity.probes:
            params[key] = values[int(rng.integers(len(values)))]
            continue
        layer = key.rsplit(".", 1)[0]
        allowed = layer_tolerance(tolerance, sensitivity.share.get(layer), n_layers)
        drops = [sensitivity.drop(key, v) for v in values]
        params[key] = shaped_choice(values, drops, allowed, rng)
    return params


class JobSampler(optuna.samplers.BaseSampler):
    """The job's sampler: warm start, sensitivity-shaped start-up, no design twice (module
    docstring); everything else is the wrapped sampler's. Deterministic for a seed and trial
    number, so several workers share the plan without coordinating."""

    def __init__(
        self,
        base: optuna.samplers.BaseSampler,
        space: dict[str, BaseDistribution | float],
        starts: list[tuple[str, Params]],
        sensitivity: Sensitivity | None,
        startup_trials: int,
        seed: int,
        refine_spec: JobSpec | None = None,
    ):
        self.base, self.space = base, distributions(space)
        self.starts, self.sensitivity = starts, sensitivity
        self.startup_trials, self.seed = startup_trials, seed
        self.refine_spec = refine_spec  # the job whose accuracy floor refinement keeps to

    def refines(self, number: int) -> bool:
        """Whether trial `number` is a refinement step (module docstring, 3)."""
        if self.refine_spec is None:
            return False
        after_startup = number - max(self.startup_trials, len(self.starts))
        return after_startup >= 0 and after_startup % REFINE_PERIOD == 0

    def origin(self, number: int) -> str:
        """How trial `number` was chosen (stored with the trial; a refinement step that found
        nothing to step from falls back to the sampler and still says "refine")."""
        if number < len(self.starts):
            return f"warm start: {self.starts[number][0]}"
        if self.sensitivity is not None and number < self.startup_trials:
            return "sensitivity"
        if self.refines(number):
            return "refine"
        return "sampler"

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        return self.space

    def sample_relative(self, study, trial: FrozenTrial, search_space) -> Params:
        if trial.number < len(self.starts):
            return dict(self.starts[trial.number][1])
        tried = {
            design_key(t.params)
            for t in study.get_trials(deepcopy=False, states=TRIED_STATES)
            if t.number != trial.number and len(t.params) == len(self.space)
        }
        for attempt in range(MAX_REDRAWS):
            params = self._propose(study, trial, attempt)
            if len(params) < len(self.space) or design_key(params) not in tried:
                return params
        return {}  # independent sampling draws every value: a new design almost surely

    def _propose(self, study, trial: FrozenTrial, attempt: int) -> Params:
        rng = np.random.default_rng([self.seed, trial.number, attempt])
        if self.sensitivity is not None and trial.number < self.startup_trials:
            return shaped_design(self.space, self.sensitivity, rng)
        if self.refines(trial.number):
            floor = accuracy_floor(self.refine_spec, study.user_attrs.get("baselines", []))
            trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            step = refined_design(self.space, _grid, trials, floor, rng)
            if step is not None:
                return step
        space = self.base.infer_relative_search_space(study, trial)
        return self.base.sample_relative(study, trial, space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def base_sampler(spec: JobSpec) -> optuna.samplers.BaseSampler:
    """The Optuna sampler the job names, on its own."""
    seed, name = spec.sampler.seed, spec.sampler.name
    startup = spec.sampler.startup_trials
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=startup)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=20)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=startup)
    return optuna.samplers.RandomSampler(seed=seed)


def make_sampler(
    spec: JobSpec,
    space: dict[str, BaseDistribution | float],
    sensitivity: Sensitivity | None = None,
) -> JobSampler:
    """The job's sampler; `sensitivity` is used when the job turns it on."""
    starts = starting_points(spec, space) if spec.sampler.warm_start else []
    shaping = sensitivity if spec.sampler.sensitivity else None
    seed = spec.sampler.seed
    refine = spec if spec.sampler.refine else None
    return JobSampler(
        base_sampler(spec), space, starts, shaping, spec.sampler.startup_trials, seed, refine
    )
