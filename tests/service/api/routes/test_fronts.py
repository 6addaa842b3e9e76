import pytest


def test_finished_job_progress_and_front(finished_job):
    job = finished_job.get("").json()
    assert job["status"] == "done"
    progress = job["progress"]
    assert progress["trials_complete"] == 8 and progress["n_trials"] == 8
    assert progress["baselines_done"] and progress["front_size"] == len(job["front"]) > 0


def test_front_json_has_members_baselines_and_gain(finished_job):
    front = finished_job.get("/front").json()
    assert front["final"] and front["objectives"] == ["accuracy", "throughput"]
    assert front["directions"] == ["maximize", "maximize"]
    assert {b["label"] for b in front["baselines"]} >= {"dense int8", "uniform s=0.5 8b"}
    dense = next(b for b in front["baselines"] if b["label"] == "dense int8")
    assert front["accuracy_floor"] == pytest.approx(dense["val_accuracy"] - 0.01)
    for member in front["members"]:
        assert member["test_accuracy"] is not None  # measured when the front was fixed
        assert member["trial"] == member["trials"][0] and not member["confirmed"]
        assert member["links"]["bundle"].endswith(f"/candidates/{member['trial']}/bundle")
    assert front["gain"] is None or "throughput_ratio" in front["gain"]


def test_front_members_are_distinct_designs(finished_job):
    members = finished_job.get("/front").json()["members"]
    numbers = [n for m in members for n in m["trials"]]
    assert len(numbers) == len(set(numbers))
    designs = {(tuple(m["objectives"].values()), m["lut"], m["layers"]) for m in members}
    assert len(designs) == len(members)


def test_identical_references_name_each_other(finished_job):
    baselines = finished_job.get("/front").json()["baselines"]
    same = {b["label"]: b["same_design_as"] for b in baselines}
    assert same["dense int8"] is None and same["uniform s=0 8b"] == "dense int8"


def test_front_plot_is_a_png(finished_job):
    response = finished_job.get("/front.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert finished_job.get("/front.png").content == response.content  # cached once final
