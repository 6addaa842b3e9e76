"""Pruning, activation thresholds and quantization, and integer == fake-quant everywhere."""

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from search.lowering import network_from_transformed
from search.models import build_model
from search.transforms import (
    Candidate,
    IntLayer,
    LayerConfig,
    collect_stats,
    transform,
    uniform_candidate,
)
from search.transforms._graph import capture_inputs


def _calibration(digits, n=512):
    return torch.from_numpy(digits.train.x[:n])


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.37, 0.5, 0.9, 0.99])
def test_magnitude_pruning_reaches_exact_sparsity(digits_mlp, digits, sparsity):
    t = transform(digits_mlp, uniform_candidate(weight_sparsity=sparsity), _calibration(digits))
    for name, module in t.float_model.named_children():
        if isinstance(module, torch.nn.Linear):
            zeros = (module.weight == 0).sum().item()
            assert zeros == round(sparsity * module.weight.numel()), name


def test_pruning_keeps_the_largest_weights(digits_mlp, digits):
    t = transform(digits_mlp, uniform_candidate(weight_sparsity=0.5), _calibration(digits))
    original, pruned = digits_mlp.fc1.weight.abs(), t.float_model.fc1.weight
    assert original[pruned == 0].max() <= original[pruned != 0].min()


def _row_counts(weight: torch.Tensor) -> torch.Tensor:
    return (weight.reshape(weight.shape[0], -1) != 0).sum(dim=1)


@pytest.mark.parametrize("model_fixture", ["digits_mlp", "digits_cnn"])
@pytest.mark.parametrize("sparsity", [0.0, 0.37, 0.5, 0.75, 0.9, 0.99])
def test_balanced_pruning_reaches_exact_sparsity_with_rows_within_one(
    request, model_fixture, digits, sparsity
):
    model = request.getfixturevalue(model_fixture)
    candidate = uniform_candidate(sparsity, pruning="balanced")
    t = transform(model, candidate, _calibration(digits))
    for name, module in t.float_model.named_modules():
        if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            zeros = (module.weight == 0).sum().item()
            assert zeros == round(sparsity * module.weight.numel()), name
            counts = _row_counts(module.weight)
            assert counts.max() - counts.min() <= 1, name


def test_balanced_pruning_keeps_the_largest_weights_of_each_row(digits_cnn, digits):
    t = transform(digits_cnn, uniform_candidate(0.6, pruning="balanced"), _calibration(digits))
    original = digits_cnn.conv2.weight.abs().reshape(digits_cnn.conv2.weight.shape[0], -1)
    pruned = t.float_model.conv2.weight.reshape(original.shape)
    for row, kept in zip(original, pruned != 0, strict=True):
        assert row[~kept].max() <= row[kept].min()


def test_unstructured_pruning_leaves_rows_uneven(digits_mlp, digits):
    """The spread that balanced pruning removes (and the reason it exists)."""
    t = transform(digits_mlp, uniform_candidate(0.75), _calibration(digits))
    counts = _row_counts(t.float_model.fc1.weight)
    assert counts.max() - counts.min() > 1


@pytest.mark.parametrize("model_fixture", ["digits_mlp", "digits_cnn"])
@pytest.mark.parametrize("target", [0.75, 0.8, 0.9])
def test_activation_sparsity_within_two_points_of_target(request, model_fixture, digits, target):
    model = request.getfixturevalue(model_fixture)
    calibration = _calibration(digits)
    t = transform(model, uniform_candidate(act_sparsity=target, w_bits=16, a_bits=16), calibration)
    stats = collect_stats(t, calibration)
    for name in t.relu_feeds.values():
        assert abs(stats[name].act_sparsity - target) <= 0.02, name


def test_activation_target_below_natural_sparsity_keeps_plain_relu(digits_mlp, digits):
    t = transform(digits_mlp, uniform_candidate(act_sparsity=0.01), _calibration(digits))
    assert all(t.layers[n].input_threshold == 0.0 for n in t.relu_feeds.values())


def _assert_integer_equals_fake_quant(transformed, x: torch.Tensor):
    network = transformed.integer_network
    ints = network.run(network.quantize_input(x.numpy()))
    fake = transformed.quantized(x.double()).numpy()
    assert np.array_equal(ints * 2.0**-network.output_frac, fake)
    assert np.array_equal(ints.argmax(-1), fake.argmax(-1))


@pytest.mark.parametrize("bits", range(2, 17))
@pytest.mark.parametrize("model_fixture", ["digits_mlp", "digits_cnn"])
def test_integer_model_equals_fake_quant_for_every_width(request, model_fixture, digits, bits):
    model = request.getfixturevalue(model_fixture)
    candidate = uniform_candidate(weight_sparsity=0.4, act_sparsity=0.75, w_bits=bits, a_bits=bits)
    t = transform(model, candidate, _calibration(digits))
    _assert_integer_equals_fake_quant(t, torch.from_numpy(digits.test.x))


def test_integer_model_equals_fake_quant_with_mixed_widths(digits_mlp, digits):
    candidate = Candidate(
        default=LayerConfig(weight_sparsity=0.3, w_bits=5, a_bits=7),
        layers={"fc1": {"w_bits": 2, "a_bits": 16}, "fc3": {"a_bits": 3, "act_sparsity": 0.8}},
    )
    _assert_integer_equals_fake_quant(
        transform(digits_mlp, candidate, _calibration(digits)), torch.from_numpy(digits.test.x)
    )


@pytest.mark.parametrize(
    ("name", "shape"), [("fmnist-cnn", (64, 1, 28, 28)), ("jsc-mlp", (256, 16))]
)
@pytest.mark.parametrize("bits", [2, 8, 16])
def test_integer_model_equals_fake_quant_on_other_zoo_models(name, shape, bits):
    model = build_model(name).eval()  # random weights: equality must not depend on training
    x = torch.rand(shape) if len(shape) == 4 else torch.randn(shape)
    candidate = uniform_candidate(weight_sparsity=0.5, act_sparsity=0.6, w_bits=bits, a_bits=bits)
    _assert_integer_equals_fake_quant(transform(model, candidate, x), x)


@pytest.mark.parametrize("bits", [2, 8, 16])
def test_char_gpt_linear_layers_equal_their_integer_twins(bits):
    model = build_model("char-gpt").eval()
    tokens = torch.randint(0, 65, (4, 64))
    t = transform(model, uniform_candidate(0.5, 0.5, bits, bits), tokens)
    inputs = capture_inputs(t.quantized, list(t.layers), tokens)
    for name, q in t.layers.items():
        twin = IntLayer(name, q.kind, q.weight, q.bias, q.weight_format, q.input_format)
        codes = q.input_format.fake_quant(inputs[name]).numpy().astype(np.int64)
        expected = twin(codes) * 2.0**-twin.acc_frac
        assert np.array_equal(t.quantized.get_submodule(name)(inputs[name]).numpy(), expected)


def test_eight_bit_half_sparse_digits_mlp_stays_within_one_point(digits_mlp, digits):
    from search.tasks import ClassificationTask

    task = ClassificationTask()
    t = transform(digits_mlp, uniform_candidate(0.5, 0.0, 8, 8), _calibration(digits))
    float_acc = task.evaluate(digits_mlp, digits, "test")["accuracy"]
    quant_acc = task.evaluate(t.quantized, digits, "test")["accuracy"]
    assert quant_acc >= float_acc - 0.01


def test_stats_count_nonzero_weights_per_output_channel(digits_cnn, digits):
    calibration = _calibration(digits)
    t = transform(digits_cnn, uniform_candidate(weight_sparsity=0.5), calibration)
    stats = collect_stats(t, calibration)
    conv2 = stats["conv2"]
    assert conv2.nnz_per_row.shape == (16,)
    assert conv2.nnz_per_row.sum() == np.count_nonzero(t.layers["conv2"].weight)
    assert conv2.window_nnz_hist.shape == (8 * 9 + 1,)
    assert conv2.window_nnz_hist.sum() == len(calibration) * 16  # 4x4 windows per image
    assert conv2.in_shape == (8, 4, 4) and conv2.out_shape == (16, 4, 4)


def test_stats_measure_how_often_each_weight_input_is_nonzero_in_a_window(digits_cnn, digits):
    calibration = _calibration(digits)
    t = transform(digits_cnn, uniform_candidate(0.5, 0.5), calibration)
    stats = collect_stats(t, calibration)
    inputs = capture_inputs(t.quantized, ["conv2", "fc1"], calibration.double())
    for name in ("conv2", "fc1"):
        layer = t.layers[name]
        mask = (layer.input_format.fake_quant(inputs[name]) != 0).numpy()
        if layer.kind == "conv2d":  # (N, C, H, W): windows of (cin, kh, kw), padding 1 as zero
            padded = np.pad(mask, ((0, 0), (0, 0), (1, 1), (1, 1)))
            windows = sliding_window_view(padded, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
            expected = windows.mean(axis=(0, 2, 3))
        else:
            expected = mask.mean(axis=0)
        assert stats[name].column_density.shape == layer.weight.shape[1:]
        assert np.allclose(stats[name].column_density, expected)


def test_stats_keep_every_conv_window_count_in_place(digits_cnn, digits):
    calibration = _calibration(digits)
    t = transform(digits_cnn, uniform_candidate(0.5, 0.5), calibration)
    stats = collect_stats(t, calibration)
    inputs = capture_inputs(t.quantized, ["conv2"], calibration.double())
    mask = (t.layers["conv2"].input_format.fake_quant(inputs["conv2"]) != 0).numpy()
    padded = np.pad(mask, ((0, 0), (0, 0), (1, 1), (1, 1)))  # padding 1 counts as zero
    expected = sliding_window_view(padded, (3, 3), axis=(2, 3)).sum(axis=(1, 4, 5))  # (N, H, W)
    conv2 = stats["conv2"]
    assert conv2.window_counts.shape == (len(calibration), 4, 4)
    assert np.array_equal(conv2.window_counts, expected)
    assert np.array_equal(np.bincount(expected.ravel(), minlength=73), conv2.window_nnz_hist)
    assert stats["fc1"].window_counts is None


def test_lowering_hands_the_window_counts_to_conv_engines(digits_cnn, digits):
    calibration = _calibration(digits, 64)
    t = transform(digits_cnn, uniform_candidate(0.5, 0.5), calibration)
    stats = collect_stats(t, calibration)
    network = network_from_transformed(t, stats, "digits-cnn")
    for layer in network.engines:
        if layer.kind == "conv2d":
            assert np.array_equal(layer.window_counts, stats[layer.name].window_counts)
        else:
            assert layer.window_counts is None


def test_digest_names_the_design_not_the_nominal_choices(digits_mlp, digits):
    calibration = _calibration(digits)

    def digest(**fc2):
        candidate = Candidate(default=LayerConfig(weight_sparsity=0.5), layers={"fc2": fc2})
        return transform(digits_mlp, candidate, calibration).digest

    natural = digest()
    assert digest(act_sparsity=0.01) == natural  # below the natural sparsity: plain ReLU
    assert digest(act_sparsity=0.9) != natural
    assert digest(w_bits=4) != natural
    assert digest(weight_sparsity=0.6) != natural
