"""Bad candidate files fail with the file and the field named."""

import json

import pytest

from search.transforms import CandidateError, load_candidate, transform, uniform_candidate


def _write(tmp_path, data) -> str:
    path = tmp_path / "cand.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"default": {"weight_sparsity": 1.0}}, "default.weight_sparsity"),
        ({"default": {"weight_sparsity": -0.1}}, "default.weight_sparsity"),
        ({"default": {"act_sparsity": 1.5}}, "default.act_sparsity"),
        ({"default": {"w_bits": 1}}, "default.w_bits"),
        ({"default": {"a_bits": 17}}, "default.a_bits"),
        ({"default": {"w_bits": "8"}}, "default.w_bits"),
        ({"default": {"w_bits": 8.0}}, "default.w_bits"),
        ({"layers": {"fc1": {"weight_sparsity": "half"}}}, "layers.fc1.weight_sparsity"),
        ({"layers": {"fc1": {"sparsity": 0.5}}}, "layers.fc1.sparsity"),
        ({"default": [8]}, "default"),
        ({"pruning": "structured"}, "pruning"),
    ],
)
def test_bad_field_is_named_with_the_file(tmp_path, data, field):
    path = _write(tmp_path, data)
    with pytest.raises(CandidateError) as err:
        load_candidate(path)
    assert str(err.value).startswith(f"{path}: {field}")


def test_malformed_json_names_the_file(tmp_path):
    path = _write(tmp_path, "{not json")
    with pytest.raises(CandidateError, match=f"{path}: not valid JSON"):
        load_candidate(path)


def test_unknown_layer_is_named(tmp_path, digits_mlp, digits):
    import torch

    path = _write(tmp_path, {"layers": {"fc9": {"w_bits": 4}}})
    with pytest.raises(CandidateError, match=r"cand\.json: layers\.fc9: unknown layer.*fc1, fc2"):
        transform(
            digits_mlp, load_candidate(path), torch.from_numpy(digits.train.x[:8]), source=path
        )


def test_act_sparsity_on_a_layer_without_relu_input_is_refused(digits_mlp, digits):
    import torch

    from search.transforms import parse_candidate

    candidate = parse_candidate({"layers": {"fc1": {"act_sparsity": 0.5}}})
    with pytest.raises(CandidateError, match=r"layers\.fc1\.act_sparsity"):
        transform(digits_mlp, candidate, torch.from_numpy(digits.train.x[:8]))


def test_default_act_sparsity_skips_layers_without_relu_input(digits_mlp, digits):
    import torch

    t = transform(
        digits_mlp, uniform_candidate(act_sparsity=0.8), torch.from_numpy(digits.train.x[:64])
    )
    assert t.configs["fc1"].act_sparsity == 0.0 and t.configs["fc2"].act_sparsity == 0.8


def test_a_candidate_without_pruning_is_unstructured(tmp_path):
    """What every candidate stored before `pruning` existed was built with."""
    assert load_candidate(_write(tmp_path, {"default": {"weight_sparsity": 0.5}})).pruning == (
        "unstructured"
    )
