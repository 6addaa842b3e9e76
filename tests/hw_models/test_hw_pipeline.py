"""The ping-pong pipeline's max-plus recurrence (SPEC section 4)."""

import numpy as np

from hw_models import (
    HANDOFF,
    Folding,
    exact_network_cycles,
    exact_stage_cycles,
    interval_cycles,
    latency_cycles,
    pipeline_schedule,
)
from tests.hw_models.hw_factories import small_cnn


def test_recurrence_matches_a_hand_computed_schedule():
    assert HANDOFF == 1  # the hand computation below uses one handoff cycle
    t = np.array([[2, 2, 2, 2], [5, 1, 5, 1], [1, 1, 1, 1]])
    sched = pipeline_schedule(t)
    # frame 2 of the loader waits for stage 1 to finish frame 0 (both buffers full)
    assert sched.start.tolist() == [[0, 2, 8, 10], [3, 8, 11, 16], [9, 10, 17, 18]]
    assert sched.done.tolist() == [[2, 4, 10, 12], [8, 9, 16, 17], [10, 11, 18, 19]]
    assert sched.total_cycles == 19


def test_one_frame_takes_the_latency():
    t = np.array([[7], [30], [4], [12]])
    assert pipeline_schedule(t).total_cycles == latency_cycles(t)[0] == 53 + 3 * HANDOFF


def test_steady_state_spacing_is_the_slowest_stage():
    t = np.tile(np.array([[3], [11], [5], [8]]), (1, 40))
    done = pipeline_schedule(t).done[-1]
    assert interval_cycles(t)[0] == 11
    assert np.all(np.diff(done[5:]) == 11)


def test_exact_network_cycles_run_the_recurrence_on_exact_stage_times(rng):
    net = small_cnn(rng)
    folding = Folding.from_dict({"conv1": (2, 8), "conv2": (4, 16), "fc": (5, 64)})
    masks = {
        "conv1": rng.random((3, 3, 8, 8)) < 0.9,
        "conv2": rng.random((3, 8, 8, 8)) < 0.5,
        "fc": rng.random((3, 256)) < 0.5,
    }
    sched = exact_network_cycles(net, folding, masks)
    stage = exact_stage_cycles(net, folding, masks)
    assert np.array_equal(sched.stage_cycles, stage)
    assert sched.total_cycles == pipeline_schedule(stage).total_cycles
    assert stage.shape == (5, 3) and stage[0].tolist() == [64] * 3  # loader: H * W
