"""Job specs: TOML/JSON in, every bad field named with its file."""

import json

import pytest

from search.spec import JobSpecError, LayerSpace, load_job, parse_job, parse_job_text

MINIMAL = {"name": "j1", "model": "digits-mlp"}


def test_examples_parse():
    from pathlib import Path

    examples = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))
    assert len(examples) >= 3
    for path in examples:
        load_job(path)


def test_defaults_maximise_accuracy_and_throughput():
    spec = parse_job(MINIMAL)
    assert spec.objectives == ["accuracy", "throughput"]
    assert spec.directions() == ["maximize", "maximize"]
    assert spec.budget.n_trials == 100 and spec.device == "zcu102"
    assert spec.pruning == "unstructured"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"budget": {"n_trials": 0}}, "budget.n_trials"),
        ({"budget": {"n_trials": None, "timeout_s": None}}, "budget"),
        ({"model": "resnet-9000"}, "model"),
        ({"device": "vu19p-imaginary"}, "device"),
        ({"objectives": ["accuracy", "speed"]}, "objectives"),
        ({"space": {"w_bits": [1, 4]}}, "space.w_bits.0"),
        ({"space": {"weight_sparsity": [0.9, 0.1]}}, "space.weight_sparsity"),
        ({"space": {"weight_sparsity": [0.1, 1.0]}}, "space.weight_sparsity.high"),
        ({"sampler": {"name": "cmaes"}}, "sampler.name"),
        ({"name": "bad name/with slash"}, "name"),
        ({"surprise": 1}, "surprise"),
        ({"pruning": "random"}, "pruning"),
    ],
)
def test_bad_field_is_named(patch, field):
    with pytest.raises(JobSpecError) as err:
        parse_job({**MINIMAL, **patch}, "job.toml")
    assert str(err.value).startswith(f"job.toml: {field}:"), str(err.value)


def test_malformed_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nmodel = ')
    with pytest.raises(JobSpecError, match=r"broken\.toml: not valid TOML"):
        load_job(path)


def test_json_and_toml_give_the_same_spec(tmp_path):
    toml = 'name = "j1"\nmodel = "digits-mlp"\n[budget]\nn_trials = 7\n'
    as_json = json.dumps({**MINIMAL, "budget": {"n_trials": 7}})
    assert parse_job_text(toml, "toml") == parse_job_text(as_json, "json")


def test_layer_overrides_apply_type_then_name():
    spec = parse_job(
        {
            **MINIMAL,
            "layers": {"linear": {"w_bits": [4, 8]}, "fc1": {"w_bits": [8], "act_sparsity": False}},
        }
    )
    assert spec.layer_space("fc2", "linear").w_bits == [4, 8]
    fc1 = spec.layer_space("fc1", "linear")
    assert fc1.w_bits == [8] and fc1.act_sparsity is None
    assert spec.layer_space("conv1", "conv2d") == LayerSpace()


def test_layer_overrides_survive_the_json_round_trip_workers_get():
    spec = parse_job({**MINIMAL, "layers": {"conv1": {"w_bits": [6, 8]}}})
    again = parse_job(spec.model_dump(mode="json"))
    assert again.layer_space("conv1", "conv2d") == spec.layer_space("conv1", "conv2d")


def test_override_of_unknown_layer_is_named():
    spec = parse_job({**MINIMAL, "layers": {"fc7": {"w_bits": [8]}}})
    with pytest.raises(JobSpecError, match=r"job: layers\.fc7: not a layer"):
        spec.check_layers(["fc1", "fc2", "fc3"])


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"budget": {"n_trials": True}}, ("budget", "n_trials")),
        ({"budget": {"n_trials": 10**9}}, ("budget", "n_trials")),
        ({"budget": {"n_trials": 5.0}}, ("budget", "n_trials")),
        ({"budget": {"timeout_s": 1e300}}, ("budget", "timeout_s")),
        ({"budget": {"timeout_s": float("inf")}}, ("budget", "timeout_s")),
        ({"budget": {"timeout_s": True}}, ("budget", "timeout_s")),
        ({"sampler": {"seed": -1}}, ("sampler", "seed")),
        ({"sampler": {"seed": 2**40}}, ("sampler", "seed")),
        ({"confirm": {"front_members": 10**6}}, ("confirm", "front_members")),
        ({"confirm": {"samples": True}}, ("confirm", "samples")),
        ({"calibration_samples": False}, ("calibration_samples",)),
        ({"finetune": {"lr": float("nan")}}, ("finetune", "lr")),
        ({"clock_mhz": float("inf")}, ("clock_mhz",)),
        ({"space": {"w_bits": [True]}}, ("space", "w_bits", 0)),
        ({"baselines": {"bits": [8] * 17}}, ("baselines", "bits")),
        ({"sampler": {"startup_trials": 0}}, ("sampler", "startup_trials")),
        ({"sampler": {"startup_trials": 10**6}}, ("sampler", "startup_trials")),
        ({"sampler": {"warm_start": "yes"}}, ("sampler", "warm_start")),
        ({"finetune": {"early_stop": 1}}, ("finetune", "early_stop")),
    ],
)
def test_numbers_out_of_their_documented_bounds_are_refused(patch, loc):
    with pytest.raises(JobSpecError) as err:
        parse_job({**MINIMAL, **patch}, "job.json")
    assert err.value.loc == loc and err.value.source == "job.json", str(err.value)


def test_more_front_members_than_trials_is_refused_naming_the_field():
    with pytest.raises(JobSpecError) as err:
        parse_job({**MINIMAL, "budget": {"n_trials": 3}, "confirm": {"front_members": 4}})
    assert err.value.loc == ("confirm", "front_members") and "3 trials" in err.value.msg


def test_the_largest_timeout_still_gives_a_deadline():
    from datetime import datetime, timedelta

    from search.spec import MAX_TIMEOUT_S

    spec = parse_job({**MINIMAL, "budget": {"timeout_s": MAX_TIMEOUT_S}})
    assert datetime(9000, 1, 1) + timedelta(seconds=spec.budget.timeout_s) > datetime(9000, 1, 1)


def test_errors_are_data_and_text_alike():
    with pytest.raises(JobSpecError) as err:
        parse_job({**MINIMAL, "budget": {"n_trials": 0}}, "job.toml")
    assert err.value.loc == ("budget", "n_trials")
    assert str(err.value) == f"job.toml: budget.n_trials: {err.value.msg}"
    with pytest.raises(JobSpecError) as top:
        parse_job([1, 2], "job.json")
    assert top.value.loc == () and str(top.value).startswith("job.json: (top level): ")
