"""Describing transformed models to hw_models: chains one to one, char-gpt as a transformer
pipeline over whole sequences."""

import numpy as np
import pytest
import torch

import hw_models
from search.lowering import TRANSFORMER_INTERNAL_BITS, network_from_transformed, stages_of
from search.models import build_model
from search.scoring import CandidateScorer, _folding_summary
from search.transforms import collect_stats, transform, uniform_candidate


def _char_gpt_network(weight_sparsity: float, bits: int = 6) -> hw_models.Network:
    torch.manual_seed(0)
    model = build_model("char-gpt").eval()  # random weights: the mapping does not need training
    tokens = torch.randint(0, 65, (4, 64), generator=torch.Generator().manual_seed(0))
    t = transform(model, uniform_candidate(weight_sparsity, 0.0, bits, bits), tokens)
    return network_from_transformed(t, collect_stats(t, tokens), "char-gpt"), t


@pytest.fixture(scope="module")
def gpt():
    return _char_gpt_network(0.5)


def test_char_gpt_block_is_norm_qkv_attention_projection_and_residuals(gpt):
    net, _ = gpt
    block = [(layer.name, layer.kind) for layer in net.layers if layer.name.startswith("blocks.0.")]
    assert block == [
        ("blocks.0.ln_1", "norm"),
        ("blocks.0.attn.c_attn.q", "conv2d"),
        ("blocks.0.attn.c_attn.k", "conv2d"),
        ("blocks.0.attn.c_attn.v", "conv2d"),
        ("blocks.0.attn.scores", "matmul"),
        ("blocks.0.attn.softmax", "softmax"),
        ("blocks.0.attn.attend", "matmul"),
        ("blocks.0.attn.c_proj", "conv2d"),
        ("blocks.0.residual_1", "add"),
        ("blocks.0.ln_2", "norm"),
        ("blocks.0.mlp.c_fc", "conv2d"),
        ("blocks.0.mlp.c_proj", "conv2d"),
        ("blocks.0.residual_2", "add"),
    ]
    assert [layer.name for layer in net.layers[-2:]] == ["ln_f", "lm_head"]
    assert net.layers[0].in_shape == (64, 64, 1)  # a frame is one 64-token sequence
    scores = net.layers[net.index("blocks.0.attn.scores")]
    assert scores.out_shape == (4 * 64, 64, 1) and scores.fan_in == 16  # 4 heads of 16


def test_qkv_engines_hold_the_slices_of_the_fused_projection(gpt):
    net, t = gpt
    weight = t.layers["blocks.1.attn.c_attn"].weight
    for i, part in enumerate("qkv"):
        mask = net.layers[net.index(f"blocks.1.attn.c_attn.{part}")].weight_mask
        assert np.array_equal(mask[:, :, 0, 0], weight[i * 64 : (i + 1) * 64] != 0)
    assert stages_of(net.stage_names, "blocks.1.attn.c_attn") == tuple(
        f"blocks.1.attn.c_attn.{p}" for p in "qkv"
    )


def test_searched_widths_reach_the_engines_and_the_rest_is_internal(gpt):
    net, _ = gpt
    fc = net.layers[net.index("blocks.0.mlp.c_fc")]
    assert (fc.w_bits, fc.a_bits, fc.out_bits) == (6, 6, 6)  # out: c_proj's input width
    assert fc.input_signed and not net.layers[net.index("blocks.0.mlp.c_proj")].input_signed
    q = net.layers[net.index("blocks.0.attn.c_attn.q")]
    assert q.out_bits == TRANSFORMER_INTERNAL_BITS


def test_weight_sparsity_makes_char_gpt_faster_on_the_same_device(gpt):
    sparse = hw_models.estimate(gpt[0], "zcu102", 200.0)
    dense = hw_models.estimate(_char_gpt_network(0.0)[0], "zcu102", 200.0)
    assert sparse.throughput_fps > 1.3 * dense.throughput_fps
    assert sparse.fits and dense.fits


def test_a_split_layer_summarises_each_part():
    stages = {
        name: hw_models.StageEstimate(name, "linear", pe, simd, 1, cycles, 0, 0, 0, 0)
        for name, pe, simd, cycles in (
            ("fc", 2, 4, 10.0),
            ("qkv.q", 1, 8, 20.0),
            ("qkv.k", 2, 8, 21.0),
        )
    }
    assert _folding_summary(stages, "fc") == {"pe": 2, "simd": 4, "expected_cycles": 10.0}
    assert _folding_summary(stages, "qkv") == {
        "pe": [1, 2],
        "simd": [8, 8],
        "expected_cycles": [20.0, 21.0],
    }


@pytest.mark.slow
def test_a_char_gpt_trial_stores_per_part_folding_and_a_fitting_estimate():
    import optuna

    from search import TrialObjective, create_job_study, load_workload
    from search.spec import parse_job

    spec = parse_job(
        {
            "name": "gpt-trial",
            "model": "char-gpt",
            "device": "zcu102",
            "calibration_samples": 16,
            "budget": {"n_trials": 1},
        }
    )
    study = create_job_study(spec, optuna.storages.InMemoryStorage())
    study.optimize(TrialObjective(spec, CandidateScorer(spec, load_workload(spec))), n_trials=1)
    trial = study.trials[0]
    qkv = trial.user_attrs["layers"]["blocks.0.attn.c_attn"]
    assert len(qkv["pe"]) == len(qkv["simd"]) == len(qkv["expected_cycles"]) == 3
    assert trial.user_attrs["hardware"]["fits"] and trial.values[1] > 0


def _lowered_digits_cnn(digits_cnn, digits, candidate, policy: str):
    from search.lowering import lower

    calibration = torch.from_numpy(digits.train.x[:64])
    transformed = transform(digits_cnn, candidate, calibration)
    stats = collect_stats(transformed, calibration)
    return lower(transformed, stats, "digits-cnn", policy, hw_models.DEVICES["zcu102"], 200.0)


def test_auto_skipping_keeps_only_engines_where_the_folded_design_gains(digits_cnn, digits):
    candidate = uniform_candidate(0.0, 0.0, 8, 8)
    on = _lowered_digits_cnn(digits_cnn, digits, candidate, "on")
    auto = _lowered_digits_cnn(digits_cnn, digits, candidate, "auto")
    skipping = [layer.name for layer in auto.network.layers if layer.act_skip]
    assert auto.estimate.fits and on.estimate.fits
    assert auto.estimate.throughput_fps > on.estimate.throughput_fps
    assert len(skipping) < sum(layer.act_skip for layer in on.network.layers)


def test_auto_skipping_gives_the_folding_of_its_own_network(digits_cnn, digits):
    auto = _lowered_digits_cnn(digits_cnn, digits, uniform_candidate(0.5, 0.5, 4, 4), "auto")
    again = hw_models.estimate(auto.network, hw_models.DEVICES["zcu102"], 200.0)
    assert again.throughput_fps == auto.estimate.throughput_fps
    assert again.resources == auto.estimate.resources


def test_balanced_rows_turn_the_same_sparsity_into_more_throughput(digits_cnn, digits):
    """Lockstep lanes wait for the fullest row, so equal rows turn more of the sparsity into
    cycles."""
    estimates = {
        pruning: _lowered_digits_cnn(
            digits_cnn, digits, uniform_candidate(0.5, 0.0, 8, 8, pruning), "off"
        ).estimate
        for pruning in ("unstructured", "balanced")
    }
    assert all(e.fits for e in estimates.values())
    faster = estimates["balanced"].throughput_fps / estimates["unstructured"].throughput_fps
    assert faster > 1.2
