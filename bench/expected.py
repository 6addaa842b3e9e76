"""Accuracy of the expected cycles (SPEC section 5) on real candidates, without Verilator.

    .venv/bin/python bench/expected.py [--models digits-mlp,digits-cnn] [--random 3]
                                       [--samples 64]

Per model (its example job: scorer, device, fine-tuning), candidates: uniform 50% and 75%
weight sparsity with activation sparsity 0.5 (8 and 4 bits), and --random candidates drawn
from the job's space (seeded). Each is lowered as the search lowers it; its exact cycles
(equal to the RTL's, cycle for cycle) are taken on the inputs confirmation simulates (the
first --samples test inputs, `search.confirm.prepare_confirmation`), and compared with the
expected work of every skipping engine and the expected interval, per model: with uniform
nonzero positions (no `column_density`), with column densities but no pixel groups' counts
(no `window_counts`: step 5 mixes a shared and independent counts) and with both (the
search's model). Foldings: the lowered one, the one the model without groups' counts lowers
to, and, for each pixel parallelism px > 1 a conv engine can take, the lowered one with those
engines at PE = M and px (the folding search's px > 1 shape). Errors are signed, expected
over exact minus one; the summary gives mean and largest |error| over stages (and over the
px > 1 stages alone) and intervals.
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
from hw_models._folding import pixel_options  # noqa: E402
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
MODELS = ("uniform positions", "column densities", "group counts")


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
        out[label] = Candidate.model_validate(
            {"default": default, "layers": capped, "pruning": job.spec.pruning}
        )
    space = job_space(job.spec, model)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(n_random):
        out[f"random {i}"] = sample_candidate(study.ask(), space, job.spec.pruning)
    return out


def without(network: hw_models.Network, *fields: str) -> hw_models.Network:
    """The same network without the statistics `fields`."""
    layers = (dataclasses.replace(layer, **dict.fromkeys(fields)) for layer in network.layers)
    return hw_models.Network(network.name, tuple(layers))


def model_networks(network: hw_models.Network) -> dict[str, hw_models.Network]:
    """The network each model of `MODELS` sees."""
    return {
        "uniform positions": without(network, "column_density", "window_counts"),
        "column densities": without(network, "window_counts"),
        "group counts": network,
    }


def foldings(job: JobRun, network: hw_models.Network, lowered: hw_models.Folding) -> dict:
    """Foldings to measure at, by label: the lowered one, the one lowered without groups'
    counts, and per px > 1 the lowered one with every conv engine that can take px at PE = M
    and px."""
    device, clock = job.scorer.device, job.spec.clock_mhz
    out = {"lowered": lowered}
    try:
        before = hw_models.fold(without(network, "window_counts"), device, clock)
    except hw_models.DoesNotFitError:
        before = lowered
    if before != lowered:
        out["lowered without groups"] = before
    convs = [layer for layer in network.engines if layer.act_skip and layer.kind == "conv2d"]
    options = {layer.name: pixel_options(network, layer.name).tolist() for layer in convs}
    for px in sorted({p for opts in options.values() for p in opts if p > 1}):
        at = [layer for layer in convs if px in options[layer.name]]
        layers = lowered.as_dict() | {c.name: (c.rows, lowered[c.name][1]) for c in at}
        pixels = dict(lowered.pixels) | {c.name: px for c in at}
        out[f"px {px}"] = hw_models.Folding.from_dict(layers, pixels)
    return out


def measure(
    job: JobRun, candidate: Candidate, samples: int
) -> dict[str, tuple[str, dict[str, dict[str, float]], set[str]]]:
    """Per folding (`foldings`): the folding of the skipping engines (PE, SIMD and px), per
    model the signed relative errors per skipping engine and of the interval, and the
    engines at px > 1."""
    prepared = prepare_confirmation(job.scorer, candidate, samples)
    network = prepared.lowered.network
    engines = [layer.name for layer in network.layers if layer.act_skip]
    out = {}
    for label, folding in foldings(job, network, prepared.lowered.folding).items():
        exact = hw_models.exact_network_cycles(network, folding, prepared.masks)
        done = exact.done[-1]
        interval = float(done[-1] - done[0]) / (len(done) - 1)
        errors = {}
        for model, net in model_networks(network).items():
            est = hw_models.estimate(net, job.scorer.device, job.spec.clock_mhz, folding=folding)
            row = {"interval": est.interval_cycles / interval - 1.0}
            for s, layer in enumerate(network.layers, start=1):
                if layer.act_skip:
                    row[layer.name] = est.stages[s].cycles / exact.stage_cycles[s].mean() - 1.0
            errors[model] = row
        shown = ", ".join(
            f"{n} {folding[n][0]}x{folding[n][1]} px {folding.px(n)}" for n in engines
        )
        out[label] = (shown, errors, {n for n in engines if folding.px(n) > 1})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="digits-mlp,digits-cnn")
    parser.add_argument("--random", type=int, default=3, help="random candidates per model")
    parser.add_argument("--samples", type=int, default=64, help="test inputs, as confirmed")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    stage_errors: dict[str, list[float]] = {m: [] for m in MODELS}
    pixel_errors: dict[str, list[float]] = {m: [] for m in MODELS}
    interval_errors: dict[str, list[float]] = {m: [] for m in MODELS}
    for name in args.models.split(","):
        job = JobRun(load_job(EXAMPLES / f"{name}.toml"))
        print(f"{name} on {job.spec.device}, {args.samples} test inputs: expected / exact - 1")
        for label, candidate in candidates(job, args.random).items():
            for fold_label, (shown, errors, pixel_engines) in measure(
                job, candidate, args.samples
            ).items():
                print(f"  {label:20s} {fold_label:23s} PE x SIMD: {shown}")
                for model, row in errors.items():
                    cells = "  ".join(f"{k} {100 * v:+6.1f}%" for k, v in row.items())
                    print(f"    {model:18s} {cells}")
                    interval_errors[model].append(abs(row.pop("interval")))
                    stage_errors[model] += [abs(v) for v in row.values()]
                    pixel_errors[model] += [abs(row[n]) for n in pixel_engines]
    for model in MODELS:
        s, p, i = stage_errors[model], pixel_errors[model] or [0.0], interval_errors[model]
        print(
            f"{model:18s}: stages mean |error| {100 * statistics.mean(s):.1f}%, largest "
            f"{100 * max(s):.1f}%; px > 1 stages mean {100 * statistics.mean(p):.1f}%, largest "
            f"{100 * max(p):.1f}%; intervals mean {100 * statistics.mean(i):.1f}%, largest "
            f"{100 * max(i):.1f}%"
        )


if __name__ == "__main__":
    main()
