"""estimate(): the per-candidate summary search/ stores."""

import gc
import json
import weakref

import numpy as np

from hw_models import (
    Folding,
    estimate,
    expected_stage_cycles,
    extra_bank_resources,
    fold,
    latency_cycles,
    prepare,
    stage_roles,
    steady_interval,
)
from tests.hw_models.hw_factories import mlp, small_cnn


def test_to_dict_is_json_ready_with_layers_by_name(rng):
    net = small_cnn(rng)
    est = estimate(net, "zcu102")
    data = json.loads(json.dumps(est.to_dict()))
    assert list(data["layers"]) == ["input", "conv1", "conv2", "pool", "fc"]
    assert data["layers"]["pool"]["pe"] is None and data["layers"]["conv1"]["pe"] >= 1
    assert set(data["resources"]) == set(data["utilisation"]) == {"lut", "ff", "dsp", "bram18"}
    assert data["folding"]["fc"] == {
        "pe": est.folding["fc"][0],
        "simd": est.folding["fc"][1],
        "px": 1,
    }
    assert data["fits"] is True and data["device"] == "zcu102"


def test_throughput_latency_and_totals_follow_the_stages(rng):
    net = small_cnn(rng)
    est = estimate(net, "kv260", clock_mhz=250.0)
    cycles = np.array([s.cycles for s in est.stages])
    vectors = np.array([1] + [layer.n_vectors if layer.is_engine else 1 for layer in net.layers])
    roles = stage_roles(net)
    interval = steady_interval(roles, cycles, cycles * (np.array(roles) == "engine") / vectors)
    assert est.interval_cycles == interval >= cycles.max()
    assert np.isclose(est.throughput_fps, 250e6 / interval)
    assert np.isclose(est.latency_cycles, latency_cycles(roles, cycles))
    assert np.isclose(est.latency_us, est.latency_cycles / 250.0)
    assert est.bottleneck == est.stages[int(np.argmax(cycles))].name
    for r in ("lut", "ff", "dsp", "bram18"):
        assert est.resources[r] == sum(getattr(s, r) for s in est.stages)
    assert np.allclose(cycles, expected_stage_cycles(net, est.folding))


def test_estimate_folds_for_max_throughput_when_no_folding_is_given(rng):
    net = mlp(rng, (64, 32, 10), act_skip=True)
    assert estimate(net, "pynq-z2").folding == fold(net, "pynq-z2")


def test_estimate_agrees_with_vectorised_evaluation(rng):
    net = small_cnn(rng)
    p = prepare(net, "zcu102")
    folds = [Folding.minimal(net), fold(net, "zcu102")]
    idx = [p.indices(f) for f in folds]
    banks = np.stack([f.bank_counts(net) for f in folds])
    ev = p.evaluate(*(np.stack([i[k] for i in idx]) for k in range(4)), banks=banks)
    for row, f in enumerate(folds):
        est = estimate(net, "zcu102", folding=f)
        assert ev.interval_cycles[row] == est.interval_cycles
        third = extra_bank_resources(net, dict(f.pixels), dict(f.banks)).sum(axis=0)
        assert (ev.resources[row] + third).tolist() == list(est.resources.values())


def test_an_oversized_folding_is_reported_as_not_fitting(rng):
    net = mlp(rng, (256, 256, 10), weight_density=1.0)
    big = Folding.from_dict({"fc1": (256, 256), "fc2": (10, 256)})
    est = estimate(net, "xc7a100t", folding=big)
    assert not est.fits and max(est.utilisation.values()) > 0.8


def test_cached_tables_do_not_keep_networks_alive(rng):
    net = mlp(rng, (16, 8))
    estimate(net, "zcu102")
    ref = weakref.ref(net)
    del net
    gc.collect()
    assert ref() is None
