"""The overlapped ping-pong pipeline's max-plus recurrence (SPEC section 4)."""

import numpy as np

from hw_models import (
    ENGINE_DRAIN,
    ENGINE_FILL,
    FIXED_DRAIN,
    HANDOFF,
    Folding,
    StageTimes,
    exact_network_cycles,
    exact_stage_times,
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
