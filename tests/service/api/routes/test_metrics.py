from service.metrics import CONTENT_TYPE


def test_metrics_in_prometheus_text_format(finished_job):
    response = finished_job.client.get("/v1/metrics", headers=finished_job.read)
    assert response.status_code == 200 and response.headers["content-type"] == CONTENT_TYPE
    lines = response.text.splitlines()
    assert "# TYPE hwsearch_jobs gauge" in lines
    assert 'hwsearch_jobs{status="done"} 1' in lines
    assert 'hwsearch_confirmations{status="failed"} 2' in lines
    for line in lines:
        assert line.startswith("#") or line.rsplit(" ", 1)[1].replace(".", "").isdigit()


def test_metrics_need_a_key(finished_job):
    assert finished_job.client.get("/v1/metrics").status_code == 401
