"""Turn an Optuna trial into a candidate, one parameter per layer and choice."""

import optuna

from search.spec import JobSpec
from search.transforms import Candidate, LayerOverride


def _suggest_range(trial: optuna.Trial, key: str, low: float, high: float, step: float) -> float:
    if low == high:
        return low
    steps = max(round((high - low) / step), 1)
    high = round(low + steps * step, 9)  # 0.0 + 19 * 0.05 is 0.9500000000000001
    return round(trial.suggest_float(key, low, high, step=step), 6)


def sample_candidate(
    trial: optuna.Trial, spec: JobSpec, layers: list[tuple[str, str]], relu_fed: set[str]
) -> Candidate:
    """Parameters are named `<layer>.<choice>`, e.g. `fc1.w_bits`, so the dashboard reads well."""
    overrides = {}
    for name, kind in layers:
        space = spec.layer_space(name, kind)
        ws = space.weight_sparsity
        choice = {
            "weight_sparsity": _suggest_range(
                trial, f"{name}.weight_sparsity", ws.low, ws.high, space.sparsity_step
            ),
            "w_bits": trial.suggest_categorical(f"{name}.w_bits", space.w_bits),
            "a_bits": trial.suggest_categorical(f"{name}.a_bits", space.a_bits),
        }
        if space.act_sparsity is not None and name in relu_fed:
            act = space.act_sparsity
            choice["act_sparsity"] = _suggest_range(
                trial, f"{name}.act_sparsity", act.low, act.high, space.sparsity_step
            )
        overrides[name] = LayerOverride(**choice)
    return Candidate(layers=overrides)


def make_sampler(spec: JobSpec) -> optuna.samplers.BaseSampler:
    seed, name = spec.sampler.seed, spec.sampler.name
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=20)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=20)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)
