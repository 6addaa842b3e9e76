"""A workload (model, trained weights, dataset, task) and scoring one candidate on it three
ways: float, fake-quant and the integer reference model.

`load_workload(spec)` is how a job gets its workload (zoo model or uploaded files);
`job_model(spec)` builds only the model, for checks that need its layers.
`evaluate_candidate` is `hwsearch eval`; the search reuses the pieces.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from search.data import load_dataset
from search.models import build_model, load_pretrained, zoo_entry
from search.spec import HARDWARE_OBJECTIVES, JobSpec, JobSpecError
from search.tasks import ClassificationTask, Task, make_task
from search.transforms import (
    Candidate,
    TransformedModel,
    capture_inputs,
    collect_stats,
    transform,
)

CALIBRATION_SIZE = 512  # training-split inputs used to set thresholds and scales


@dataclass
class Workload:
    """A zoo model with its trained weights, dataset and task."""

    model_name: str
    model: torch.nn.Module
    dataset: object
    task: Task

    @classmethod
    def load(
        cls,
        model_name: str,
        checkpoint: str | Path | None = None,
        data_path: str | Path | None = None,
    ) -> "Workload":
        entry = zoo_entry(model_name)
        return cls(
            model_name,
            load_pretrained(model_name, checkpoint),
            load_dataset(entry.dataset, data_path),
            make_task(entry.task),
        )

    def calibration(self, size: int = CALIBRATION_SIZE) -> torch.Tensor:
        return self.task.inputs(self.dataset, "train", size)


def load_workload(spec: JobSpec) -> Workload:
    """The job's workload; its files are where the spec names them (absolute, or relative to
    the working directory). Objectives must be metrics of the workload's task."""
    if not isinstance(spec.model, str):
        from search.user_models import load_user_workload

        workload = load_user_workload(spec.model)
    else:
        workload = Workload.load(spec.model, data_path=spec.dataset_path)
        if spec.task is not None:
            workload.task = make_task(spec.task)
    check_objectives(spec, workload.task)
    return workload


def job_task(spec: JobSpec) -> Task:
    """The task a job is scored with: an uploaded model's is classification; a zoo model's
    is the spec's, else the model's own."""
    if not isinstance(spec.model, str):
        return ClassificationTask()
    return make_task(spec.task or zoo_entry(spec.model).task)


def check_objectives(spec: JobSpec, task: Task, source: str | None = None) -> None:
    """Objectives must be hardware figures or metrics of the task (JobSpecError)."""
    missing = [o for o in spec.objectives if o not in HARDWARE_OBJECTIVES and o not in task.metrics]
    if missing:
        raise JobSpecError(
            source or spec.name,
            f"{missing} are not metrics of the task {type(task).__name__} "
            f"({', '.join(task.metrics)})",
            ("objectives",),
        )


def job_model(spec: JobSpec) -> tuple[torch.nn.Module, str]:
    """The job's model and its name, built without trained weights or data (zoo) or read from
    its file (upload): enough to check layer names and what the RTL supports."""
    if isinstance(spec.model, str):
        return build_model(spec.model), spec.model
    from search.user_models import sequential_from_onnx, sequential_from_pt2

    read = sequential_from_pt2 if spec.model.format == "pt2" else sequential_from_onnx
    return read(spec.model.path), Path(spec.model.path).stem


@dataclass
class CandidateEvaluation:
    model: str
    split: str
    float_metrics: dict[str, float]
    quantized_metrics: dict[str, float]
    integer_metrics: dict[str, float] | None  # None when the model is not a chain
    integer_agreement: float  # fraction of samples (or layers) where integer == fake-quant
    layers: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def _integer_check_per_layer(transformed: TransformedModel, x: torch.Tensor) -> float:
    """For non-chain models: each quantized layer against its integer twin on real inputs."""
    names = list(transformed.layers)
    if x.is_floating_point():
        x = x.to(torch.float64)
    inputs = capture_inputs(transformed.quantized, names, x)
    equal = 0
    for name, layer in transformed.integer_layers().items():
        codes = layer.input_format.fake_quant(inputs[name])
        fake = transformed.quantized.get_submodule(name)(inputs[name]).numpy()
        exact = layer(codes.numpy().astype(np.int64)) * 2.0**-layer.acc_frac
        equal += bool(np.array_equal(fake, exact))
    return equal / len(names)


@torch.no_grad()
def evaluate_candidate(
    workload: Workload, candidate: Candidate, split: str = "test", source: str = "candidate"
) -> CandidateEvaluation:
    task, data = workload.task, workload.dataset
    calibration = workload.calibration()
    transformed = transform(workload.model, candidate, calibration, source=source)
    stats = collect_stats(transformed, calibration)
    float_metrics = task.evaluate(workload.model, data, split)
    quantized_metrics = task.evaluate(transformed.quantized, data, split)
    if isinstance(workload.model, torch.nn.Sequential):
        network = transformed.integer_network
        x = task.inputs(data, split).numpy()
        logits = network.run(network.quantize_input(x))
        fake = transformed.quantized(torch.from_numpy(x).double()).numpy()
        real_logits = torch.from_numpy(logits * 2.0**-network.output_frac)
        integer_metrics = task.score(real_logits, task.targets(data, split))
        agreement = float((logits.argmax(-1) == fake.argmax(-1)).mean())
    else:
        integer_metrics = None
        agreement = _integer_check_per_layer(transformed, task.inputs(data, split, 16))
    layers = {
        name: {
            **transformed.configs[name].model_dump(),
            **stats[name].summary(),
            "w_frac": q.weight_format.frac,
            "a_frac": q.input_format.frac,
            "a_signed": q.input_format.signed,
        }
        for name, q in transformed.layers.items()
    }
    return CandidateEvaluation(
        workload.model_name,
        split,
        float_metrics,
        quantized_metrics,
        integer_metrics,
        agreement,
        layers,
    )
