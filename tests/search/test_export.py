import json

import numpy as np
import pytest
import torch

from search.export import export_candidate, load_integer_network
from search.transforms import transform, uniform_candidate


def test_exported_files_alone_reproduce_the_integer_predictions(tmp_path, digits_mlp, digits):
    t = transform(
        digits_mlp, uniform_candidate(0.5, 0.6, 6, 6), torch.from_numpy(digits.train.x[:512])
    )
    network = t.integer_network
    x, y = digits.test.x, digits.test.y
    out = export_candidate(network, x[:32], y[:32], tmp_path / "export", {"note": 1}, "test")
    reloaded = load_integer_network(out)
    assert np.array_equal(
        reloaded.predict(reloaded.quantize_input(x)), network.predict(network.quantize_input(x))
    )
    with np.load(out / "vectors.npz") as v:
        assert np.array_equal(reloaded.run(v["inputs"]), v["outputs"])
        assert v["input.fc2"].shape == (32, 64)
    assert json.loads((out / "metadata.json").read_text()) == {"note": 1}
    assert "round half up" in (out / "README.md").read_text()


def test_export_of_a_conv_network_round_trips(tmp_path, digits_cnn, digits):
    t = transform(
        digits_cnn, uniform_candidate(0.3, 0.0, 8, 8), torch.from_numpy(digits.train.x[:256])
    )
    out = export_candidate(
        t.integer_network, digits.test.x[:8], digits.test.y[:8], tmp_path, {}, "cnn"
    )
    reloaded = load_integer_network(out)
    codes = reloaded.quantize_input(digits.test.x)
    assert np.array_equal(reloaded.run(codes), t.integer_network.run(codes))


def test_unknown_format_version_is_refused(tmp_path, digits_mlp, digits):
    t = transform(digits_mlp, uniform_candidate(), torch.from_numpy(digits.train.x[:64]))
    out = export_candidate(
        t.integer_network, digits.test.x[:2], digits.test.y[:2], tmp_path, {}, "x"
    )
    spec = json.loads((out / "network.json").read_text())
    (out / "network.json").write_text(json.dumps({**spec, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version"):
        load_integer_network(out)


def test_export_with_a_device_adds_the_estimate_and_generated_rtl(tmp_path):
    from search import Workload
    from search.export import export_from_candidate

    out = export_from_candidate(
        Workload.load("digits-mlp"),
        uniform_candidate(0.5, 0.5, 6, 6),
        tmp_path / "bundle",
        device="xc7a100t",
        samples=4,
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["hardware"]["device"] == "xc7a100t"
    assert "GENERATED" in (out / "rtl" / "hws_net.sv").read_text()
    assert {"fc1_weight.mem", "fc3_bias.mem", "README.md"} <= {
        p.name for p in (out / "rtl").iterdir()
    }
    assert (out / "rtl" / "hdl" / "hws_engine.sv").is_file()
    assert "rtl/" in (out / "README.md").read_text()


def test_a_transformer_is_exported_layer_by_layer_with_exact_vectors(tmp_path):
    from search import Workload
    from search.export import LAYERWISE_FILES, LAYERWISE_MAX_SAMPLES, export_from_candidate

    candidate = uniform_candidate(weight_sparsity=0.5, w_bits=6, a_bits=6)
    out = export_from_candidate(Workload.load("char-gpt"), candidate, tmp_path / "gpt", "zcu102")
    assert {p.name for p in out.iterdir()} == LAYERWISE_FILES
    layers = json.loads((out / "layers.json").read_text())["layers"]
    assert [layer["name"] for layer in layers][-1] == "lm_head" and len(layers) == 9
    metadata = json.loads((out / "metadata.json").read_text())
    assert "blocks.0.attn.scores" in metadata["hardware"]["layers"]
    with (
        np.load(out / "weights.npz") as weights,
        np.load(out / "vectors.npz") as vectors,
        np.load(out / "masks.npz") as masks,
    ):
        for layer in layers:
            name = layer["name"]
            w, b = weights[f"{name}.weight"], weights[f"{name}.bias"]
            x = vectors[f"input.{name}"]
            assert len(x) == LAYERWISE_MAX_SAMPLES * 64  # one row per token
            assert np.array_equal(vectors[f"output.{name}"], x @ w.T + b)
            assert np.array_equal(masks[name], w != 0) and 0.45 < 1 - masks[name].mean() < 0.55
