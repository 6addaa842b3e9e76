"""Folding under a device budget (FINN SetFolding-like greedy and min-resources mode)."""

import numpy as np
import pytest

from hw_models import (
    DEVICES,
    DoesNotFitError,
    Folding,
    PreparedNetwork,
    estimate,
    fold,
    get_device,
    prepare,
    simd_options,
)
from hw_models._folding_search import _max_throughput, _third_frames
from tests.hw_models.hw_factories import mlp, small_cnn


def _random_network(rng):
    if rng.random() < 0.5:
        dims = tuple(int(d) for d in rng.choice([8, 12, 16, 32, 64, 96, 128], rng.integers(2, 5)))
        return mlp(
            rng,
            dims,
            weight_density=rng.uniform(0.05, 1.0),
            act_skip=bool(rng.random() < 0.5),
            bits=int(rng.integers(2, 9)),
        )
    channels = (int(rng.choice([4, 8, 16])), int(rng.choice([8, 16, 32])))
    return small_cnn(
        rng,
        channels,
        size=int(rng.choice([4, 8])),
        weight_density=rng.uniform(0.1, 1.0),
        act_skip=bool(rng.random() < 0.5),
    )


def test_folding_never_exceeds_the_budget(rng):
    names = sorted(DEVICES)
    folded = 0
    for trial in range(30):
        net = _random_network(rng)
        device = names[trial % len(names)]
        cap = float(rng.choice([0.3, 0.8, 1.0]))
        try:
            folding = fold(net, device, max_utilisation=cap)
        except DoesNotFitError:
            continue
        folding.check(net)  # PE divides M, SIMD one of its layer_simd_options
        est = estimate(net, device, folding=folding, max_utilisation=cap)
        budget = get_device(device).budget(cap)
        folded += 1
        assert est.fits and all(
            est.resources[r] <= b
            for r, b in zip(("lut", "ff", "dsp", "bram18"), budget, strict=True)
        )


def test_greedy_stops_only_when_the_bottleneck_cannot_be_sped_up(rng):
    net = small_cnn(rng, (8, 16))
    device = get_device("xc7a100t")
    p = prepare(net, device)
    pe_i, simd_i, px_i, stage_px_i = p.indices(fold(net, device))
    ev = p.evaluate(pe_i, simd_i, px_i, stage_px_i)
    b = int(np.argmax(ev.stage_cycles[0]))
    if b in p.engine_stage:
        e = int(np.flatnonzero(p.engine_stage == b)[0])
        options, cycles = p.resources[e], p.cycles[e]
        others = ev.resources[0] - options[px_i[e], pe_i[e], simd_i[e]]
    else:  # the loader or a max-pool with a choice of pixels per cycle
        u = int(np.flatnonzero(p.pixel_stage == b)[0])
        options, cycles = p.stage_extra[u], p.stage_cycles[u]
        others = ev.resources[0] - options[stage_px_i[u]]
    faster = cycles < ev.stage_cycles[0, b]
    fits = np.all(others + options <= device.budget(), axis=-1)
    assert not np.any(faster & fits)


def test_skipping_unaffordable_options_does_not_change_the_folding(rng):
    net = small_cnn(rng, (32, 64), size=8)
    device = get_device("zc706")  # some options fit, some do not
    lazy = fold(net, device)
    skipped = np.isnan(prepare(net, device).cycles[:, 0, :, 0]).sum()
    assert skipped > 0  # some PE options cannot be afforded on this small device
    full = PreparedNetwork(net, device)
    for e in range(full.n_engines):
        full.ensure(e, np.arange(len(full.pes[e])))
    assert full.folding(*_max_throughput(full, device.budget())) == lazy


def test_options_computed_on_demand_fold_as_if_all_were_known(rng):
    chose_pixels = False
    for trial in range(6):
        seed = int(rng.integers(2**31))
        channels, size = [((8, 16), 8), ((16, 32), 16)][trial % 2]
        device = get_device(("u250", "zcu102", "zc706")[trial % 3])

        def make(seed=seed, channels=channels, size=size):
            return small_cnn(np.random.default_rng(seed), channels, size=size)

        lazy = fold(make(), device)  # px > 1 and PE = M only when the greedy could take them
        twin = make()  # (the prepared tables refer to their network weakly)
        known = PreparedNetwork(twin, device)
        known.ensure_fitting(device.budget())
        for e in range(known.n_engines):
            known.ensure_options(e, np.flatnonzero(known.searched[e] & np.isnan(known.cycles[e])))
        assert not np.isnan(known.cycles[known.searched]).any()
        chosen = _max_throughput(known, device.budget())
        assert known.folding(*chosen, banks=_third_frames(known, chosen, device.budget())) == lazy
        chose_pixels |= bool(lazy.pixels)
    assert chose_pixels


def test_fold_leaves_the_pixel_options_it_cannot_choose_uncomputed(rng):
    net = small_cnn(rng, (16, 32), size=16)
    folding = fold(net, "zcu102")
    p = prepare(net, "zcu102")
    full = len(p.pes[0]) - 1  # conv1: px > 1 only with all 16 lanes
    assert folding.px("conv1") == 1 and folding["conv1"][0] < 16
    assert np.isnan(p.cycles[0, 1 : len(p.pxs[0]), full, : len(p.simds[0])]).all()
    pe_i, simd_i = np.array([full, 0, 0]), np.zeros(3, dtype=np.int64)
    wide = p.evaluate(pe_i, simd_i, np.array([3, 0, 0])).stage_cycles[0]  # px = 8: computed
    narrow = p.evaluate(pe_i, simd_i).stage_cycles[0]
    assert np.isfinite(wide).all() and wide[1] < narrow[1]


def test_max_throughput_is_at_least_the_minimal_folding(rng):
    net = mlp(rng, (64, 64, 32, 10))
    best = estimate(net, "zcu102")
    slow = estimate(net, "zcu102", folding=Folding.minimal(net))
    assert best.throughput_fps >= slow.throughput_fps
    assert best.folding != Folding.minimal(net)


def test_min_resources_meets_the_target_with_no_more_than_max_throughput(rng):
    net = small_cnn(rng, (8, 16))
    fast = estimate(net, "zcu102")
    target = fast.throughput_fps / 3
    folding = fold(net, "zcu102", mode="min_resources", target_fps=target)
    cheap = estimate(net, "zcu102", folding=folding)
    assert cheap.throughput_fps >= target and cheap.fits
    capacity = get_device("zcu102").capacity
    assert sum(cheap.resources[r] / c for r, c in zip(cheap.resources, capacity, strict=True)) <= (
        sum(fast.resources[r] / c for r, c in zip(fast.resources, capacity, strict=True))
    )


def test_unreachable_target_fps_is_a_clear_error(rng):
    net = small_cnn(rng)
    with pytest.raises(ValueError, match="unreachable: stage 'input'"):
        fold(net, "u250", mode="min_resources", target_fps=1e9)
    with pytest.raises(ValueError, match="target_fps"):
        fold(net, "u250", mode="min_resources")


def test_a_model_that_cannot_fit_raises_does_not_fit_naming_the_resource(rng):
    net = mlp(rng, (2048, 2048, 10), weight_density=1.0, act_skip=False)  # 4M 8-bit weights
    with pytest.raises(
        DoesNotFitError,
        match=r"xc7a100t.*bram18 needs [\d,]+ > 216 available "
        r"\(over by [\d,]+",
    ):
        fold(net, "xc7a100t")
    assert issubclass(DoesNotFitError, ValueError)


def test_unknown_device_and_mode_are_rejected_listing_the_options(rng):
    net = mlp(rng, (8, 4))
    with pytest.raises(ValueError, match=r"unknown device 'vu9p'; known devices: .*zcu102"):
        fold(net, "vu9p")
    with pytest.raises(ValueError, match="mode must be one of"):
        fold(net, "zcu102", mode="fastest")


def test_device_names_are_case_insensitive_with_part_aliases():
    assert get_device("ZCU102") is get_device("xczu9eg") is DEVICES["zcu102"]
    assert get_device("xc7z045").dsp == 900 and get_device("u250").bram18 == 5376


def test_a_linear_layer_folds_by_divisors_of_its_rows(rng):
    net = mlp(rng, (48, 24))
    pe, simd = fold(net, "u250")["fc1"]
    assert 24 % pe == 0 and simd in simd_options(48, int(net.layers[0].row_nnz.max()))
