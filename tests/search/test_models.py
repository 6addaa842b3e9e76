import pytest
import torch

from search.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from search.models import ZOO, UnknownModelError, build_model, checkpoint_path

INPUTS = {
    "digits-mlp": (torch.rand(2, 1, 8, 8), (2, 10)),
    "digits-cnn": (torch.rand(2, 1, 8, 8), (2, 10)),
    "fmnist-cnn": (torch.rand(2, 1, 28, 28), (2, 10)),
    "jsc-mlp": (torch.randn(2, 16), (2, 5)),
    "char-gpt": (torch.randint(0, 65, (2, 64)), (2, 64, 65)),
}


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_maps_its_inputs_to_class_logits(name):
    x, shape = INPUTS[name]
    assert build_model(name)(x).shape == shape


def test_unknown_model_lists_the_zoo():
    with pytest.raises(UnknownModelError, match="digits-mlp"):
        build_model("resnet-9000")


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn", "fmnist-cnn", "char-gpt"])
def test_shipped_checkpoint_loads_and_records_its_validation_metrics(name):
    meta = read_checkpoint_meta(checkpoint_path(name))
    assert meta["model"] == name and 0 < meta["val"]["accuracy"] <= 1


def test_checkpoint_round_trips_without_pickle(tmp_path):
    model = build_model("digits-mlp")
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"model": "digits-mlp"})
    assert path.read_bytes()[:8] != b"\x80\x02\x8a\nl\xfc\x9c"  # not a torch pickle
    restored = build_model("digits-mlp")
    load_checkpoint(restored, path, "digits-mlp")
    assert torch.equal(restored.fc1.weight, model.fc1.weight)


def test_checkpoint_for_another_model_is_refused(tmp_path):
    path = save_checkpoint(
        build_model("digits-mlp"), tmp_path / "m.safetensors", {"model": "digits-mlp"}
    )
    with pytest.raises(CheckpointError, match="is for 'digits-mlp'"):
        load_checkpoint(build_model("jsc-mlp"), path, "jsc-mlp")


def test_a_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "evil.safetensors"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match=r"evil\.safetensors"):
        read_checkpoint_meta(path)
