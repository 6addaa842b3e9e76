"""Zoo candidates through Verilator: outputs bit-exact, cycles equal to hw_models' exact count."""

import pytest

from search import load_workload
from search.confirm import confirm_candidate
from search.scoring import CandidateScorer
from search.spec import parse_job
from search.transforms import uniform_candidate

CASES = [
    ("digits-mlp", "xc7a100t", uniform_candidate(0.5, 0.6, 6, 6)),
    ("digits-mlp", "xc7a100t", uniform_candidate(0.8, 0.0, 3, 4)),
    ("digits-cnn", "zcu102", uniform_candidate(0.3, 0.5, 8, 8)),
    ("digits-cnn", "zcu102", uniform_candidate(0.6, 0.0, 4, 5)),
]


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "device", "candidate"),
    CASES,
    ids=["mlp-s50-a60-6b", "mlp-s80-3b", "cnn-s30-a50-8b", "cnn-s60-4b"],
)
def test_zoo_candidate_simulates_bit_exact_in_model_cycles(model, device, candidate):
    spec = parse_job({"name": "confirm", "model": model, "device": device})
    report = confirm_candidate(CandidateScorer(spec, load_workload(spec)), candidate, samples=24)
    assert report["bit_exact"], report["first_mismatch"]
    assert report["simulated_total_cycles"] == report["exact_total_cycles"]
    assert report["cycles_equal"]
    print(
        f"{model} {candidate.default}: expected interval off by "
        f"{report['expected_interval_error_pct']:.1f}%"
    )
