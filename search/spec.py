"""Job specs: one pydantic schema for `hwsearch run JOB.toml` and the REST API.

    name = "digits-mlp-a7"
    model = "digits-mlp"
    device = "xc7a100t"
    objectives = ["accuracy", "throughput"]
    [space]
    weight_sparsity = [0.0, 0.9]
    act_sparsity = [0.0, 0.8]      # or false to turn activation sparsity off
    w_bits = [2, 3, 4, 5, 6, 8]
    a_bits = [3, 4, 5, 6, 8]
    [layers.fc1]                  # overrides by layer name, or by type ("linear", "conv2d")
    w_bits = [6, 8]
    [budget]
    n_trials = 100

Errors name the file and the field (`job.toml: budget.n_trials: ...`) and carry both as data
(`JobSpecError.loc`, `.msg`) for the service's 422 body. Every number has documented bounds,
so a spec that validates is one a worker can run (no deadline past `timedelta`'s range, no
seed numpy refuses, no billion trials); integers are strict (`true` is not 1).
"""

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from search.transforms.candidate import Pruning
from search.transforms.fixed_point import MAX_BITS, MIN_BITS
from search.validation import InputError

Bits = Annotated[StrictInt, Field(ge=MIN_BITS, le=MAX_BITS)]
Fraction = Annotated[StrictFloat, Field(ge=0, lt=1)]
SAMPLERS = ("tpe", "nsga2", "nsga3", "gp", "random")
LAYER_TYPES = ("linear", "conv2d")
MAX_TRIALS = 100_000  # per job; at tens of trials a second, a day of search
MAX_TIMEOUT_S = 30 * 24 * 3600.0  # 30 days
MAX_SEED = 2**31 - 1  # numpy takes seeds below 2**32; each worker adds its id (wrapped)
MAX_FRONT_MEMBERS = 64  # RTL simulations per job (tens of seconds each)
MAX_CHOICES = 16  # values in one list of bits or baseline sparsities
MAX_LAYER_OVERRIDES = 1_000


class JobSpecError(InputError):
    """A job spec is malformed; `source` names the file (or request part), `loc` the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SparsityRange(_Strict):
    low: Fraction
    high: Fraction

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a range is [low, high]")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "SparsityRange":
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class LayerSpace(_Strict):
    """What one layer may take. `act_sparsity = false` turns activation sparsity off."""

    weight_sparsity: SparsityRange = SparsityRange(low=0.0, high=0.9)
    act_sparsity: SparsityRange | None = SparsityRange(low=0.0, high=0.8)
    w_bits: list[Bits] = Field(default=[2, 3, 4, 5, 6, 8], min_length=1, max_length=MAX_CHOICES)
    a_bits: list[Bits] = Field(default=[3, 4, 5, 6, 8], min_length=1, max_length=MAX_CHOICES)
    sparsity_step: StrictFloat = Field(default=0.05, gt=0, le=0.5)

    @field_validator("act_sparsity", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        return None if value is False else value


class LayerSpaceOverride(_Strict):
    weight_sparsity: SparsityRange | None = None
    act_sparsity: SparsityRange | Literal[False] | None = None
    w_bits: list[Bits] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    a_bits: list[Bits] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)


HARDWARE_OBJECTIVES = {
    # name: direction; values come from the hardware estimate
    "throughput": "maximize",  # inferences per second
    "latency": "minimize",  # microseconds for one inference
    "lut": "minimize",
    "ff": "minimize",
    "dsp": "minimize",
    "bram": "minimize",
    "utilisation": "minimize",  # the largest resource fraction of the device
}


def metric_directions() -> dict[str, str]:
    """Every metric some registered task declares (search.tasks.TASKS), with its direction."""
    from search.tasks import TASKS

    return {name: d for task in TASKS.values() for name, d in task.metrics.items()}


def objective_direction(name: str) -> str:
    return HARDWARE_OBJECTIVES.get(name) or metric_directions()[name]


class Constraints(_Strict):
    fits_device: bool = True
    min_accuracy: StrictFloat | None = Field(default=None, ge=0, le=1)


class Budget(_Strict):
    n_trials: StrictInt | None = Field(default=100, gt=0, le=MAX_TRIALS)
    timeout_s: StrictFloat | None = Field(default=None, gt=0, le=MAX_TIMEOUT_S)

    @model_validator(mode="after")
    def _some_limit(self) -> "Budget":
        if self.n_trials is None and self.timeout_s is None:
            raise ValueError("give n_trials, timeout_s, or both")
        return self


class Sampler(_Strict):
    """Which Optuna sampler, and what the job's own knowledge adds to it
    (`search.sampling.JobSampler`): `warm_start` runs the uniform baselines (projected onto
    the space) as the first trials; `sensitivity` measures each layer's accuracy loss once
    per job and draws the start-up trials from it (`search.sensitivity`); `refine` makes every
    second later trial a step from one of the fastest designs worth building (`search.refine`).
    All off give the plain sampler; every sampler skips designs already tried.
    `startup_trials` (warm starts included) come before TPE's or GP's model takes over."""

    name: Literal["tpe", "nsga2", "nsga3", "gp", "random"] = "tpe"
    seed: StrictInt = Field(default=0, ge=0, le=MAX_SEED)
    warm_start: StrictBool = True
    sensitivity: StrictBool = True
    refine: StrictBool = True
    startup_trials: StrictInt = Field(default=30, ge=1, le=1_000)


class FineTune(_Strict):
    """Short training of the pruned float model (masks fixed) before quantization.

    Only candidates with pruned weights are tuned (quantization alone is not what it
    recovers), trials and baselines alike. With `early_stop`, a trial is first scored
    untuned; one that tuning cannot make useful (`search.fidelity`) is recorded PRUNED
    without being tuned."""

    epochs: StrictInt = Field(default=0, ge=0, le=50)
    lr: StrictFloat = Field(default=1e-3, gt=0, le=10)
    early_stop: StrictBool = True


class Confirm(_Strict):
    """How many front members to simulate (never more than the job's trials), on how many
    test inputs each: the fastest within the accuracy floor first, then the most accurate."""

    front_members: StrictInt = Field(default=0, ge=0, le=MAX_FRONT_MEMBERS)
    samples: StrictInt = Field(default=64, gt=0, le=10_000)


class Baselines(_Strict):
    """Uniform baselines: every layer the same, swept over these values (plus dense float)."""

    weight_sparsity: list[Fraction] = Field(default=[0.0, 0.25, 0.5, 0.75], max_length=MAX_CHOICES)
    bits: list[Bits] = Field(default=[4, 6, 8], max_length=MAX_CHOICES)


class ModelFile(_Strict):
    """A user model: torch.export program (.pt2) or ONNX, with an .npz dataset."""

    path: str = Field(max_length=4096)
    format: Literal["pt2", "onnx"]
    dataset: str = Field(max_length=4096)


class JobSpec(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    model: str | ModelFile
    # the data file for datasets without a shipped copy (jsc)
    dataset_path: str | None = Field(default=None, max_length=4096)
    device: str = "zcu102"
    clock_mhz: StrictFloat = Field(default=200.0, gt=0, le=1000)
    objectives: list[str] = Field(default=["accuracy", "throughput"], min_length=1, max_length=16)
    space: LayerSpace = LayerSpace()
    layers: dict[str, LayerSpaceOverride] = Field(default={}, max_length=MAX_LAYER_OVERRIDES)
    constraints: Constraints = Constraints()
    sampler: Sampler = Sampler()
    budget: Budget = Budget()
    finetune: FineTune = FineTune()
    confirm: Confirm = Confirm()
    baselines: Baselines = Baselines()
    calibration_samples: StrictInt = Field(default=512, gt=0, le=100_000)
    act_skip: Literal["auto", "on", "off"] = "auto"  # zero-activation skipping per layer
    # how weights are pruned, trials and baselines alike (search.transforms.candidate):
    # "balanced" rows turn more sparsity into cycles, at some accuracy (README, "Rows pruned
    # alike"); a spec without the field prunes unstructured, as it always has
    pruning: Pruning = "unstructured"
    task: str | None = None  # a search.tasks.TASKS name; default: the zoo model's task

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str | None) -> str | None:
        from search.tasks import TASKS

        if value is not None and value not in TASKS:
            raise ValueError(f"unknown task {value!r}; known: {', '.join(TASKS)}")
        return value

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, value: list[str]) -> list[str]:
        known = [*metric_directions(), *HARDWARE_OBJECTIVES]
        for name in value:
            if name not in known:
                raise ValueError(f"unknown objective {name!r}; known: {', '.join(known)}")
        if len(set(value)) != len(value):
            raise ValueError("objectives repeat")
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str | ModelFile) -> str | ModelFile:
        from search.models import ZOO

        if isinstance(value, str) and value not in ZOO:
            raise ValueError(f"unknown model {value!r}; zoo models: {', '.join(ZOO)}")
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        from hw_models import DEVICES

        if value not in DEVICES:
            raise ValueError(f"unknown device {value!r}; known: {', '.join(DEVICES)}")
        return value

    def directions(self) -> list[str]:
        return [objective_direction(name) for name in self.objectives]

    def layer_space(self, name: str, kind: str) -> LayerSpace:
        """The space of one layer: the default, then its type's override, then its name's."""
        space = self.space
        for key in (kind, name):
            override = self.layers.get(key)
            if override is not None:
                update = override.model_dump(exclude_unset=True, exclude_none=True)
                space = LayerSpace.model_validate({**space.model_dump(), **update})
        return space

    def check_layers(self, layer_names: list[str], source: str = "job") -> None:
        """Overrides must name a layer of the model or a layer type."""
        for key in self.layers:
            if key not in layer_names and key not in LAYER_TYPES:
                raise JobSpecError(
                    source,
                    f"not a layer of the model ({', '.join(layer_names)}) "
                    f"nor a type ({', '.join(LAYER_TYPES)})",
                    ("layers", key),
                )

    def check_runnable(self, source: str = "job") -> None:
        """Limits across fields: no more front members to confirm than trials to run."""
        n_trials = self.budget.n_trials
        if n_trials is not None and self.confirm.front_members > n_trials:
            raise JobSpecError(
                source,
                f"{self.confirm.front_members} is more than the job's {n_trials} trials",
                ("confirm", "front_members"),
            )


def parse_job(data: Any, source: str = "job") -> JobSpec:
    """Validate a spec (untrusted input): every field, then the limits across fields."""
    try:
        spec = JobSpec.model_validate(data)
    except ValidationError as err:
        raise JobSpecError.from_validation(err, source) from err
    spec.check_runnable(source)
    return spec


def parse_job_text(text: str, fmt: Literal["toml", "json"], source: str = "job") -> JobSpec:
    try:
        data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise JobSpecError(source, f"not valid {fmt.upper()} ({err})") from err
    return parse_job(data, source)


def load_job(path: str | Path) -> JobSpec:
    path = Path(path)
    if path.suffix not in (".toml", ".json"):
        raise JobSpecError(str(path), "a job file is .toml or .json")
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise JobSpecError(str(path), "job file not found") from err
    return parse_job_text(text, "toml" if path.suffix == ".toml" else "json", str(path))
