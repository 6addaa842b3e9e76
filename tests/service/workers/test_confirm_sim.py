"""A real RTL confirmation through the service: a worker runs `search.confirm_trial`
(Verilator) for a front member and the report lands with the task and in the bundle."""

import io
import zipfile

import pytest

from tests.service.conftest import run_worker_until_idle
from tests.utils.jobs import TOML_TYPE, job_toml

pytestmark = [pytest.mark.sim, pytest.mark.slow]


def test_a_front_member_is_confirmed_in_simulation(client, settings, submit_headers):
    pytest.importorskip("search.confirm", reason="this build has no RTL confirmation")
    response = client.post(
        "/v1/jobs",
        content=job_toml(name="sim", n_trials=4, front_members=1),
        headers={**submit_headers, **TOML_TYPE},
    )
    job_id = response.json()["id"]
    run_worker_until_idle(settings)
    (task,) = client.get(f"/v1/jobs/{job_id}/confirmations", headers=submit_headers).json()["data"]
    assert task["status"] == "done", task["error"]
    assert task["report"]["bit_exact"] and task["report"]["cycles_equal"]
    front = client.get(f"/v1/jobs/{job_id}/front", headers=submit_headers).json()
    confirmed = next(m for m in front["members"] if m["trial"] == task["trial_number"])
    assert confirmed["confirmation_summary"].startswith("bit-exact, cycles = model")
    bundle = client.get(
        f"/v1/jobs/{job_id}/candidates/{task['trial_number']}/bundle", headers=submit_headers
    )
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert f"sim-trial{task['trial_number']}/simulation_report.json" in names
