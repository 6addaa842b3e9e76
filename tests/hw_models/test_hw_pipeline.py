"""The overlapped pipeline's max-plus recurrence, buffers of 2 or 3 frames (SPEC section 4)."""

import numpy as np
import pytest

from hw_models import (
    ENGINE_DRAIN,
    ENGINE_FILL,
    FIXED_DRAIN,
    HANDOFF,
    Folding,
    LayerSpec,
    Network,
    StageTimes,
    estimate,
    exact_network_cycles,
    exact_stage_times,
    extra_bank_resources,
    fold,
    latency_cycles,
    pipeline_schedule,
    steady_interval,
)
from tests.hw_models.hw_factories import small_cnn


def _times(roles, work, last=None):
    work = np.asarray(work, dtype=np.int64)
    last = np.zeros_like(work) if last is None else np.asarray(last, dtype=np.int64)
    return StageTimes(tuple(roles), work, last)


def test_recurrence_matches_a_hand_computed_schedule():
    assert (HANDOFF, ENGINE_FILL, ENGINE_DRAIN, FIXED_DRAIN) == (1, 1, 5, 2)
    # loader 2 cycles; a conv engine of 3 vectors, the last one 1 or 2 cycles; a max-pool
    times = _times(
        ("loader", "engine", "fixed"),
        [[2, 2, 2], [5, 3, 5], [1, 1, 1]],
        [[0, 0, 0], [2, 1, 1], [0, 0, 0]],
    )
    sched = pipeline_schedule(times)
    # engine frame 0: start 3, lanes 4..8 (b = 9), release 9 - 2 = 7, done 9 + 5 = 14;
    # frame 1: start max(4 + 1, 7) = 7, lanes from max(8, 9) = 9 to b = 12, release 11, done 17;
    # the loader's frame 2 waits for the engine's release of frame 0 (7), done 9.
    # max-pool frame 0: start 14 + 1 = 15, release 16, done 18; frame 1: start 18.
    # engine frame 2 waits for a free output bank, the max-pool's release of frame 0 (16):
    #   lanes 17..21 (b = 22), release 21, done 27; max-pool frame 2: start 28, done 31
    assert sched.start.tolist() == [[0, 2, 7], [3, 7, 16], [15, 18, 28]]
    assert sched.release.tolist() == [[2, 4, 9], [7, 11, 21], [16, 19, 29]]
    assert sched.done.tolist() == [[2, 4, 9], [14, 17, 27], [18, 21, 31]]
    assert sched.total_cycles == 31


def test_one_frame_takes_the_latency():
    roles = ("loader", "engine", "fixed", "engine")
    work = np.array([[7], [30], [4], [12]])
    last = np.array([[0], [3], [0], [12]])
    expect = 53 + 2 * (ENGINE_FILL + ENGINE_DRAIN) + FIXED_DRAIN + 3 * HANDOFF
    assert pipeline_schedule(_times(roles, work, last)).total_cycles == expect
    assert latency_cycles(roles, work)[0] == expect


def test_steady_state_spacing_is_the_slowest_stage():
    roles = ("loader", "engine", "fixed", "engine")
    work = np.tile(np.array([[3], [11], [2], [8]]), (1, 40))
    last = np.tile(np.array([[0], [1], [0], [8]]), (1, 40))
    done = pipeline_schedule(_times(roles, work, last)).done[-1]
    assert steady_interval(roles, work[:, 0], last[:, 0]) == 11
    assert np.all(np.diff(done[5:]) == 11)


def test_two_balanced_neighbours_are_held_by_their_shared_buffer():
    """Two engines of 20 cycles whose consumer releases its input only with its last
    vector: the producer's next-but-one frame waits for that release."""
    roles = ("loader", "engine", "engine")
    work = np.tile(np.array([[4], [20], [20]]), (1, 60))
    last = np.tile(np.array([[0], [20], [1]]), (1, 60))
    done = pipeline_schedule(_times(roles, work, last)).done[-1]
    # span = (1 + 20 + 5) + 1 + (1 + 20 - 1) = 47 cycles per two frames
    assert steady_interval(roles, work[:, 0], last[:, 0]) == 23.5
    assert (done[50] - done[10]) / 40 == 23.5


def test_a_third_frame_lets_the_producer_run_ahead_to_the_slowest_stage():
    roles = ("loader", "engine", "engine")
    work = np.tile(np.array([[4], [20], [20]]), (1, 60))
    last = np.tile(np.array([[0], [20], [1]]), (1, 60))
    banks = np.array([2, 3])  # the buffer between the two engines holds three frames
    done = pipeline_schedule(_times(roles, work, last), banks=banks).done[-1]
    # the span of 47 cycles now covers three frames: 15.7 < 20, so the work binds
    assert steady_interval(roles, work[:, 0], last[:, 0], banks=banks) == 20
    assert (done[50] - done[10]) / 40 == 20


def test_a_third_frame_changes_nothing_where_the_work_binds():
    roles = ("loader", "engine", "fixed", "engine")
    work = np.tile(np.array([[3], [11], [2], [8]]), (1, 12))
    last = np.tile(np.array([[0], [1], [0], [8]]), (1, 12))
    two = pipeline_schedule(_times(roles, work, last))
    three = pipeline_schedule(_times(roles, work, last), banks=np.array([3, 3, 3]))
    assert np.array_equal(two.done[-1], three.done[-1])  # only the loader runs ahead


def test_fold_gives_a_third_frame_only_to_buffers_that_bound_the_interval(rng):
    net = small_cnn(rng, (4, 8), size=6)
    folding = fold(net, "zcu102")
    assert folding.banks, "a small CNN folded for speed has short stages"
    est = estimate(net, "zcu102", folding=folding)
    two = estimate(net, "zcu102", folding=Folding(folding.layers, folding.pixels))
    assert est.interval_cycles < two.interval_cycles
    assert est.interval_cycles == max(s.cycles for s in est.stages)
    third = extra_bank_resources(net, dict(folding.pixels), dict(folding.banks)).sum(axis=0)
    assert list(est.resources.values()) == (np.array(list(two.resources.values())) + third).tolist()


def test_exact_network_cycles_run_the_recurrence_on_exact_stage_times(rng):
    net = small_cnn(rng)
    folding = Folding.from_dict({"conv1": (2, 8), "conv2": (4, 16), "fc": (5, 64)})
    masks = {
        "conv1": rng.random((3, 3, 8, 8)) < 0.9,
        "conv2": rng.random((3, 8, 8, 8)) < 0.5,
        "fc": rng.random((3, 256)) < 0.5,
    }
    sched = exact_network_cycles(net, folding, masks)
    times = exact_stage_times(net, folding, masks)
    assert np.array_equal(sched.stage_cycles, times.work)
    assert sched.total_cycles == pipeline_schedule(times).total_cycles
    assert times.work.shape == (5, 3) and times.work[0].tolist() == [64] * 3  # loader: H * W
    assert np.array_equal(times.last[-1], times.work[-1])  # a linear stage is one vector


def test_folding_keeps_two_frames_under_a_skip_buffer_and_offers_at_most_three():
    q = LayerSpec("q", "conv2d", (8, 4, 1), (8, 4, 1))
    k = LayerSpec("k", "conv2d", (8, 4, 1), (8, 4, 1))
    add = LayerSpec("add", "add", (8, 4, 1), (8, 4, 1), second_input="q")
    out = LayerSpec("out", "conv2d", (8, 4, 1), (8, 4, 1))
    net = Network("residual", (q, k, add, out))
    layers = {"q": (1, 1), "k": (1, 1), "out": (1, 1)}
    Folding.from_dict(layers, banks={"input": 3}).check(net)
    with pytest.raises(ValueError, match="a skip buffer spans"):
        Folding.from_dict(layers, banks={"k": 3}).check(net)  # q's frame waits in a skip buffer
    with pytest.raises(ValueError, match="banks=4 must be one of"):
        Folding.from_dict(layers, banks={"input": 4}).check(net)
