import pytest

from search.models import load_pretrained
from search.train import train_model


def test_training_writes_a_loadable_checkpoint(tmp_path):
    result = train_model("digits-mlp", epochs=1, out=tmp_path / "m.safetensors")
    assert result.val_metrics["accuracy"] > 0.5
    load_pretrained("digits-mlp", result.checkpoint)


@pytest.mark.slow
def test_five_epochs_of_digits_mlp_reach_95_percent(tmp_path):
    result = train_model("digits-mlp", epochs=5, out=tmp_path / "m.safetensors")
    assert result.val_metrics["accuracy"] >= 0.95


def test_char_gpt_training_writes_a_loss_curve(tmp_path, monkeypatch):
    monkeypatch.setattr("search.tasks.NextCharTask.__init__.__defaults__", (64, 8, 100))
    result = train_model("char-gpt", epochs=1, out=tmp_path / "gpt.safetensors")
    assert [p["step"] for p in result.loss_curve] == [100]
    assert (tmp_path / "gpt.losses.png").stat().st_size > 1000
