"""The confirmation runner end to end: generated tops of whole networks simulated with
Verilator, outputs bit-exact to search's integer reference model, and every stage's start and
done cycle of every frame equal to hw_models' exact prediction (SPEC section 4)."""

import dataclasses
import subprocess

import numpy as np
import pytest
import torch

from rtl import ConfirmationError, ConfirmationJob, Design, confirm, confirm_many
from rtl.generate import requant_plusargs
from rtl.simulate import build, shape_build_key
from search.transforms import transform, uniform_candidate
from tests.rtl import networks as nw

pytestmark = pytest.mark.sim


def _assert_confirmed(network: Design, inputs: np.ndarray) -> None:
    report = confirm(network, inputs, nw.golden(network, inputs))
    assert report.bit_exact, report.summary()
    schedule = nw.exact_schedule(network, inputs)
    np.testing.assert_array_equal(report.start_cycles, schedule.start)
    np.testing.assert_array_equal(report.done_cycles, schedule.done)
    assert report.total_cycles == schedule.total_cycles


def random_mlp(rng, sparsity: float, act_skip: bool, w_bits: int, a_bits: int) -> Design:
    both = {"act_skip": act_skip, "w_bits": w_bits, "a_bits": a_bits, "sparsity": sparsity}
    fc1 = nw.engine(
        rng, "fc1", "linear", (16, 1, 1), 8, signed=True, pe=2, simd=4, out_bits=a_bits, **both
    )
    fc2 = nw.engine(rng, "fc2", "linear", (8, 1, 1), 4, pe=4, simd=2, out_bits=None, **both)
    return nw.design("mlp", (fc1, fc2))


def random_cnn(rng, sparsity: float, act_skip: bool) -> Design:
    every = {"act_skip": act_skip, "sparsity": sparsity}
    conv1 = nw.engine(rng, "conv1", "conv2d", (1, 6, 6), 4, signed=True, pe=2, simd=2, **every)
    pool1 = nw.maxpool("pool1", (4, 6, 6), kernel=2, stride=2, a_bits=4)
    conv2 = nw.engine(rng, "conv2", "conv2d", (4, 3, 3), 4, pe=4, simd=4, stride=2, **every)
    flat = conv2[0].out_shape
    fc = nw.engine(rng, "fc", "linear", flat, 3, pe=3, simd=2, out_bits=None, **every)
    return nw.design("cnn", (conv1, pool1, conv2, fc))


@pytest.mark.parametrize(("sparsity", "w_bits", "a_bits"), [(0.0, 4, 4), (0.5, 8, 3), (0.9, 4, 4)])
def test_random_mlp(sparsity, w_bits, a_bits):
    rng = np.random.default_rng(int(sparsity * 10) + w_bits)
    # act_skip uses the "skip" weight layout; without it, 0.5 gives "sparse" and 0.0 "dense"
    network = random_mlp(rng, sparsity, act_skip=sparsity != 0.5, w_bits=w_bits, a_bits=a_bits)
    _assert_confirmed(network, nw.random_inputs(rng, network, 12, density=0.6))


@pytest.mark.parametrize(("sparsity", "act_skip"), [(0.0, False), (0.6, True)])
def test_random_cnn(sparsity, act_skip):
    rng = np.random.default_rng(3)
    network = random_cnn(rng, sparsity, act_skip)
    _assert_confirmed(network, nw.random_inputs(rng, network, 6, density=0.5))


def random_pixel_cnn(rng, sparsity: float, act_skip: bool, conv2_px: int) -> Design:
    """conv (px 2) -> maxpool (px 2) -> conv (px conv2_px) -> linear, loader px 2."""
    every = {"act_skip": act_skip, "sparsity": sparsity}
    conv1 = nw.engine(rng, "conv1", "conv2d", (2, 6, 8), 4, signed=True, pe=2, simd=4, **every)
    pool1 = nw.maxpool("pool1", (4, 6, 8), kernel=2, stride=2, a_bits=4)
    conv2 = nw.engine(rng, "conv2", "conv2d", (4, 3, 4), 4, pe=2, simd=8, **every)
    fc = nw.engine(rng, "fc", "linear", (4, 3, 4), 3, pe=3, simd=4, out_bits=None, **every)
    pixels = {"input": 2, "conv1": 2, "pool1": 2, "conv2": conv2_px}
    return nw.design("pixel_cnn", (conv1, pool1, conv2, fc), pixels)


@pytest.mark.parametrize(
    ("sparsity", "act_skip", "conv2_px"), [(0.0, False, 2), (0.6, True, 2), (0.6, True, 1)]
)
def test_pixel_parallel_cnn(sparsity, act_skip, conv2_px):
    rng = np.random.default_rng(5)
    network = random_pixel_cnn(rng, sparsity, act_skip, conv2_px)
    _assert_confirmed(network, nw.random_inputs(rng, network, 6, density=0.5))


def full_row_cnn(rng, sparsity: float, act_skip: bool) -> Design:
    """conv 5x5 pad 2 taking whole rows (px 14) from a loader at half a row (px 7) -> maxpool
    (px 7, a whole row) -> conv (px 7) -> linear: pixel parallelism up to the frame width, as
    the folding search offers it for fmnist-cnn's 28-pixel rows."""
    every = {"act_skip": act_skip, "sparsity": sparsity}
    conv1 = nw.engine(
        rng, "conv1", "conv2d", (1, 4, 14), 3, signed=True, pe=3, simd=8, kernel=5, padding=2,
        **every,
    )  # fmt: skip
    pool1 = nw.maxpool("pool1", (3, 4, 14), kernel=2, stride=2, a_bits=4)
    conv2 = nw.engine(rng, "conv2", "conv2d", (3, 2, 7), 4, pe=4, simd=4, **every)
    fc = nw.engine(rng, "fc", "linear", (4, 2, 7), 3, pe=3, simd=8, out_bits=None, **every)
    pixels = {"input": 7, "conv1": 14, "pool1": 7, "conv2": 7}
    return nw.design("full_row_cnn", (conv1, pool1, conv2, fc), pixels)


@pytest.mark.parametrize(("sparsity", "act_skip"), [(0.0, False), (0.6, True)])
def test_full_row_pixel_parallel_cnn(sparsity, act_skip):
    rng = np.random.default_rng(7)
    network = full_row_cnn(rng, sparsity, act_skip)
    _assert_confirmed(network, nw.random_inputs(rng, network, 6, density=0.5))


def short_stage_cnn(
    rng, sparsity: float, act_skip: bool, banks: dict[str, int], whole_rows: bool = False
) -> Design:
    """conv (px 8) -> maxpool (px 2) -> conv (px 2) -> linear on 4x8 frames, every stage a few
    cycles long: with two frames per buffer the fill and drain of neighbours set the interval.
    With `whole_rows` the conv engines' SIMD is K (9 and 36), else the power of two below."""
    every = {"act_skip": act_skip, "sparsity": sparsity}
    conv1 = nw.engine(
        rng, "conv1", "conv2d", (1, 4, 8), 4, signed=True, pe=4, simd=9 if whole_rows else 8,
        **every,
    )  # fmt: skip
    pool1 = nw.maxpool("pool1", (4, 4, 8), kernel=2, stride=2, a_bits=4)
    conv2_simd = 36 if whole_rows else 32
    conv2 = nw.engine(rng, "conv2", "conv2d", (4, 2, 4), 4, pe=4, simd=conv2_simd, **every)
    fc = nw.engine(rng, "fc", "linear", (4, 2, 4), 3, pe=3, simd=32, out_bits=None, **every)
    pixels = {"input": 8, "conv1": 8, "pool1": 2, "conv2": 2}
    return nw.design("short_cnn", (conv1, pool1, conv2, fc), pixels, banks)


@pytest.mark.parametrize(
    ("sparsity", "act_skip", "banks", "whole_rows"),
    [
        (0.0, False, {"input": 3, "conv1": 3, "pool1": 3, "conv2": 3}, True),
        (0.6, True, {"conv1": 3, "conv2": 3}, False),  # window and vector buffers of 3 frames
    ],
)
def test_triple_buffered_cnn(sparsity, act_skip, banks, whole_rows):
    rng = np.random.default_rng(11)
    network = short_stage_cnn(rng, sparsity, act_skip, banks, whole_rows)
    inputs = nw.random_inputs(rng, network, 8, density=0.5)
    two = dataclasses.replace(network, folding=dataclasses.replace(network.folding, banks=()))
    assert nw.exact_schedule(network, inputs).total_cycles < (
        nw.exact_schedule(two, inputs).total_cycles
    ), "the third frames must shorten this schedule, or the test shows nothing"
    _assert_confirmed(network, inputs)


DIGITS_FOLDS = {
    "digits-mlp": {"fc1": (4, 8), "fc2": (2, 4), "fc3": (5, 2)},
    "digits-cnn": {"conv1": (2, 2), "conv2": (4, 8), "fc1": (2, 4)},
}


@pytest.mark.parametrize("model_name", ["digits-mlp", "digits-cnn"])
@pytest.mark.parametrize(
    ("w_bits", "a_bits", "weight_sparsity", "act_sparsity"),
    [(8, 6, 0.0, 0.0), (4, 4, 0.5, 0.5), (4, 4, 0.8, 0.7)],
)
def test_digits_models(request, digits, model_name, w_bits, a_bits, weight_sparsity, act_sparsity):
    model = request.getfixturevalue(model_name.replace("-", "_"))
    calibration = torch.from_numpy(digits.train.x[:256])
    candidate = uniform_candidate(weight_sparsity, act_sparsity, w_bits, a_bits)
    integer = transform(model, candidate, calibration).integer_network
    folds = DIGITS_FOLDS[model_name]
    network = nw.from_integer_network(
        integer, (1, 8, 8), folds, act_skip=set(folds) - {"conv1"}, name=model_name
    )
    x = integer.quantize_input(digits.test.x[:8])
    inputs = x.reshape(len(x), -1) if network.in_shape[1:] == (1, 1) else x
    report = confirm(network, inputs, integer.run(x))
    assert report.bit_exact, report.summary()
    schedule = nw.exact_schedule(network, inputs)
    np.testing.assert_array_equal(report.start_cycles, schedule.start)
    np.testing.assert_array_equal(report.done_cycles, schedule.done)


def _run_shared_build(tmp_path, mem_dir: str, plusargs: list[str]) -> subprocess.CompletedProcess:
    """The shared simulation build of a small MLP, run by hand on 2 frames with `plusargs`."""
    rng = np.random.default_rng(0)
    network = random_mlp(rng, 0.5, act_skip=True, w_bits=4, a_bits=4)
    inputs = nw.random_inputs(rng, network, 2)
    report = confirm(network, inputs, work_dir=tmp_path / "ok")
    assert report.bit_exact is None and report.outputs.shape == (2, 4)
    exe, _ = build(network)
    (tmp_path / "in.hex").write_text((tmp_path / "ok" / "inputs.hex").read_text())
    frames = [f"+hws_in={tmp_path / 'in.hex'}", "+hws_frames=2", f"+hws_mem_dir={mem_dir}"]
    args = [str(exe), *frames, *plusargs]
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


def test_missing_memory_file_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    plusargs = requant_plusargs(random_mlp(rng, 0.5, act_skip=True, w_bits=4, a_bits=4))
    proc = _run_shared_build(tmp_path, str(tmp_path / "nowhere"), plusargs)
    assert proc.returncode != 0
    assert "HWS_ERROR: missing memory file" in proc.stdout


def test_missing_requantization_plusargs_are_a_clear_error(tmp_path):
    proc = _run_shared_build(tmp_path, str(tmp_path / "ok" / "mem"), [])
    assert proc.returncode != 0
    assert "HWS_ERROR: missing requantization plusargs +fc1_shift" in proc.stdout


def test_generated_top_with_constant_requantization_is_bit_exact():
    """The generated top itself (requantization constants compiled in, as synthesis reads
    it), with negative, zero and positive shifts and thresholds."""
    rng = np.random.default_rng(7)
    network = random_cnn(rng, 0.6, act_skip=True)
    requant = {"conv1": (-1, 3), "conv2": (4, 0)}
    memories = {
        name: dataclasses.replace(m, shift=requant[name][0], threshold=requant[name][1])
        if name in requant
        else m
        for name, m in network.memories.items()
    }
    network = Design(network.network, network.folding, memories)
    inputs = nw.random_inputs(rng, network, 4, density=0.5)
    report = confirm(network, inputs, nw.golden(network, inputs), constant_requant=True)
    assert report.bit_exact, report.summary()
    assert report.shape_key != shape_build_key(network)


def test_watchdog_ends_a_run_that_does_not_finish():
    rng = np.random.default_rng(0)
    network = random_mlp(rng, 0.5, act_skip=True, w_bits=4, a_bits=4)
    with pytest.raises(ConfirmationError, match="watchdog expired"):
        confirm(network, nw.random_inputs(rng, network, 4), max_cycles=20)


def test_confirm_many_in_a_process_pool():
    rng = np.random.default_rng(1)
    network = random_mlp(rng, 0.5, act_skip=True, w_bits=4, a_bits=4)
    jobs = []
    for density in (0.3, 0.9):  # one shape, two input sets: one build
        inputs = nw.random_inputs(rng, network, 5, density=density)
        jobs.append(ConfirmationJob(network, inputs, nw.golden(network, inputs)))
    jobs.append(ConfirmationJob(network, nw.random_inputs(rng, network, 3), max_cycles=5))
    reports = confirm_many(jobs, processes=2)
    assert [r.bit_exact for r in reports[:2]] == [True, True]
    assert isinstance(reports[2], ConfirmationError)
    assert reports[0].shape_key == reports[1].shape_key
