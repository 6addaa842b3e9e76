from service.workers.confirmation_task import NOT_AVAILABLE


def test_without_rtl_confirmation_tasks_fail_clearly(finished_job):
    tasks = finished_job.get("/confirmations").json()
    assert tasks["count"] == 2
    for task in tasks["data"]:
        assert task["status"] == "failed" and task["error"] == NOT_AVAILABLE
        assert task["report"] is None  # never a made-up report
