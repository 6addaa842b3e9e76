"""Accuracy of the expected cycles (SPEC section 5) on real candidates, without Verilator.

    .venv/bin/python bench/expected.py [--models digits-mlp,digits-cnn] [--random 3]
                                       [--samples 64]

Per model (its example job: scorer, device, fine-tuning), candidates: uniform 50% and 75%
weight sparsity with activation sparsity 0.5 (8 and 4 bits), and --random candidates drawn
from the job's space (seeded). Each is lowered as the search lowers it; its exact cycles
(equal to the RTL's, cycle for cycle) are taken on the inputs confirmation simulates (the
first --samples test inputs, `search.confirm.prepare_confirmation`), and compared with the
expected work of every skipping engine and the expected interval, at the lowered folding:
with the column densities the search measures, and with uniform nonzero positions (the same
network without `column_density`, the model before it). Errors are signed, expected over
exact minus one; the summary gives mean and largest |error| over stages and intervals.
"""

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

# This script lives in bench/: keep that folder off sys.path so `search` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import optuna  # noqa: E402
import torch  # noqa: E402

import hw_models  # noqa: E402
from search import JobRun, load_job  # noqa: E402
from search.confirm import prepare_confirmation  # noqa: E402
from search.phases import job_space  # noqa: E402
from search.sampling import sample_candidate  # noqa: E402
from search.transforms import Candidate, uniform_candidate, weighted_layers  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UNIFORM = {  # label: (weight sparsity, activation sparsity, w_bits, a_bits)
    "uniform 50% a0.5 8b": (0.5, 0.5, 8, 8),
    "uniform 75% a0.5 8b": (0.75, 0.5, 8, 8),
    "uniform 75% a0.5 4b": (0.75, 0.5, 4, 4),
}
MODELS = ("uniform positions", "column densities")


def candidates(job: JobRun, n_random: int) -> dict[str, Candidate]:
    """The uniform candidates (their sparsity capped by each layer's range in the job) and
    random ones, as the search samples them."""
    model = job.workload.model
    out = {}
    for label, (ws, act, w_bits, a_bits) in UNIFORM.items():
        capped = {}
        for name, module in weighted_layers(model):
            kind = "conv2d" if isinstance(module, torch.nn.Conv2d) else "linear"
            high = job.spec.layer_space(name, kind).weight_sparsity.high
            if high < ws:
                capped[name] = {"weight_sparsity": high}
        default = uniform_candidate(ws, act, w_bits, a_bits).default
        out[label] = Candidate.model_validate({"default": default, "layers": capped})
    space = job_space(job.spec, model)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(n_random):
        out[f"random {i}"] = sample_candidate(study.ask(), space)
    return out


def uniform_positions(network: hw_models.Network) -> hw_models.Network:
    """The same network without column densities."""
    layers = (dataclasses.replace(layer, column_density=None) for layer in network.layers)
    return hw_models.Network(network.name, tuple(layers))


def measure(
    job: JobRun, candidate: Candidate, samples: int
) -> tuple[dict[str, dict[str, float]], str]:
    """Signed relative errors per skipping engine and of the interval, per model, and the
    folding of those engines (PE, SIMD and px: pixel groups are the model's step 5)."""
    prepared = prepare_confirmation(job.scorer, candidate, samples)
    network, folding = prepared.lowered.network, prepared.lowered.folding
    exact = hw_models.exact_network_cycles(network, folding, prepared.masks)
    done = exact.done[-1]
    interval = float(done[-1] - done[0]) / (len(done) - 1)
    errors = {}
    for model, net in zip(MODELS, (uniform_positions(network), network), strict=True):
        est = hw_models.estimate(net, job.scorer.device, job.spec.clock_mhz, folding=folding)
        row = {"interval": est.interval_cycles / interval - 1.0}
        for s, layer in enumerate(network.layers, start=1):
            if layer.act_skip:
                row[layer.name] = est.stages[s].cycles / exact.stage_cycles[s].mean() - 1.0
        errors[model] = row
    engines = [layer.name for layer in network.layers if layer.act_skip]
    shown = ", ".join(f"{n} {folding[n][0]}x{folding[n][1]} px {folding.px(n)}" for n in engines)
    return errors, shown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="digits-mlp,digits-cnn")
    parser.add_argument("--random", type=int, default=3, help="random candidates per model")
    parser.add_argument("--samples", type=int, default=64, help="test inputs, as confirmed")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stage_errors: dict[str, list[float]] = {m: [] for m in MODELS}
    interval_errors: dict[str, list[float]] = {m: [] for m in MODELS}
    for name in args.models.split(","):
        job = JobRun(load_job(EXAMPLES / f"{name}.toml"))
        print(f"{name} on {job.spec.device}, {args.samples} test inputs: expected / exact - 1")
        for label, candidate in candidates(job, args.random).items():
            errors, shown = measure(job, candidate, args.samples)
            print(f"  {label:20s} PE x SIMD: {shown}")
            for model, row in errors.items():
                cells = "  ".join(f"{k} {100 * v:+6.1f}%" for k, v in row.items())
                print(f"    {model:18s} {cells}")
                interval_errors[model].append(abs(row.pop("interval")))
                stage_errors[model] += [abs(v) for v in row.values()]
    for model in MODELS:
        s, i = stage_errors[model], interval_errors[model]
        print(
            f"{model:18s}: stages mean |error| {100 * statistics.mean(s):.1f}%, largest "
            f"{100 * max(s):.1f}%; intervals mean {100 * statistics.mean(i):.1f}%, largest "
            f"{100 * max(i):.1f}%"
        )


if __name__ == "__main__":
    main()
