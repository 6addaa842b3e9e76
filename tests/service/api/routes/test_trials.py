def test_trials_in_order_with_scores(finished_job):
    page = finished_job.get("/trials").json()
    assert page["count"] == 8
    assert [t["number"] for t in page["data"]] == list(range(8))
    first = page["data"][0]
    assert first["state"] == "COMPLETE" and len(first["values"]) == 2
    assert "accuracy" in first["metrics"] and first["throughput_fps"] > 0
    assert any(key.endswith(".w_bits") for key in first["params"])


def test_trials_by_state_and_page(finished_job):
    assert finished_job.get("/trials", params={"state": "FAIL"}).json()["count"] == 0
    page = finished_job.get("/trials", params={"offset": 6, "limit": 5}).json()
    assert [t["number"] for t in page["data"]] == [6, 7]
    assert finished_job.get("/trials", params={"state": "BORED"}).status_code == 422
