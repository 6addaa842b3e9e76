import io
import json
import zipfile

from search.export import EXPORT_FILES, RTL_FILES

BUNDLE_FILES = EXPORT_FILES | RTL_FILES


def _front_trial(finished_job) -> int:
    """A front member with a confirmation task."""
    members = finished_job.get("/front").json()["members"]
    return next(m["trial"] for m in members if m["confirmation"] is not None)


def test_candidate_metadata_for_the_hardware_team(finished_job):
    number = _front_trial(finished_job)
    candidate = finished_job.get(f"/candidates/{number}").json()
    assert candidate["on_front"] and candidate["state"] == "COMPLETE"
    assert candidate["device"] == "xc7a100t" and candidate["test_metrics"] is not None
    layer = candidate["layers"]["fc1"]
    for key in (
        "w_bits",
        "a_bits",
        "weight_sparsity",
        "measured_weight_sparsity",
        "pe",
        "simd",
        "expected_cycles",
    ):
        assert key in layer, key
    hardware = candidate["hardware"]
    assert hardware["throughput_fps"] > 0 and set(hardware["resources"]) >= {"lut", "dsp"}
    assert candidate["confirmation"]["status"] == "failed"


def test_unknown_candidate_is_404(finished_job):
    assert finished_job.get("/candidates/999").status_code == 404


def test_bundle_is_the_export_zipped(finished_job):
    number = _front_trial(finished_job)
    response = finished_job.get(f"/candidates/{number}/bundle")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    root = f"finished-trial{number}"
    names = {n.removeprefix(root + "/") for n in archive.namelist()}
    assert names >= BUNDLE_FILES
    assert any(n.startswith("rtl/") and n.endswith("_weight.mem") for n in names)
    metadata = json.loads(archive.read(f"{root}/metadata.json"))
    assert metadata["hardware"]["device"] == "xc7a100t"
    assert "simulation_report.json" not in archive.namelist()  # not confirmed in this build


def test_a_bundle_the_export_does_not_cover_is_501_saying_why(finished_job, monkeypatch):
    from service import artifacts

    def unsupported_bundle(**_):
        raise NotImplementedError("model X: the export does not cover its Y layers")

    monkeypatch.setattr(artifacts, "candidate_bundle", unsupported_bundle)
    response = finished_job.get(f"/candidates/{_front_trial(finished_job)}/bundle")
    assert response.status_code == 501
    assert "does not cover its Y layers" in response.json()["detail"]
