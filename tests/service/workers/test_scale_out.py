"""Scale-out on the real PostgreSQL: an API process and three worker processes.

Each test submits over HTTP and checks the database afterwards: exactly n_trials COMPLETE
trials, each run once; a SIGKILLed worker's trial is failed, retried and its slot re-claimed;
an API restart loses nothing.
"""

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from service.core.db import make_engine, make_session_factory
from service.core.security import Scope
from service.models import ClaimState, Job, TrialClaim
from service.optuna_tables import trial_counts
from tests.utils.jobs import TOML_TYPE, job_toml, unique_name
from tests.utils.keys import headers, make_key
from tests.utils.processes import free_port, start_api, start_worker, stop

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FINISHED = ("done", "failed", "cancelled")


@dataclass
class Cluster:
    url: str
    port: int
    key: str
    api: object
    workers: list
    logs: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def http(self, method: str, path: str, extra: dict | None = None, **kwargs) -> httpx.Response:
        return httpx.request(
            method,
            self.base + path,
            headers={**headers(self.key), **(extra or {})},
            timeout=60,
            **kwargs,
        )

    def submit(self, **spec) -> tuple[int, str]:
        response = self.http("POST", "/jobs", TOML_TYPE, content=job_toml(**spec))
        assert response.status_code == 201, response.text
        return response.json()["id"], response.json()["name"]

    def wait(self, job_id: int, until, timeout_s: float = 150) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.http("GET", f"/jobs/{job_id}").json()
            if until(job):
                return job
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} stuck: {job}\n{self.log_tail()}")

    def finished(self, job_id: int) -> dict:
        return self.wait(job_id, lambda job: job["status"] in FINISHED)

    def trials(self, study_name: str) -> dict[str, int]:
        engine = make_engine(self.url)
        with make_session_factory(engine)() as session:
            counts = trial_counts(session, [study_name])[study_name]
        engine.dispose()
        return counts

    def claims(self, job_id: int) -> dict[ClaimState, int]:
        engine = make_engine(self.url)
        with make_session_factory(engine)() as session:
            rows = session.execute(
                select(TrialClaim.state, func.count())
                .where(TrialClaim.job_id == job_id)
                .group_by(TrialClaim.state)
            ).all()
        engine.dispose()
        return dict(rows)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text().splitlines()[-lines:])
            for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture(scope="module")
def cluster(postgres_url, tmp_path_factory):
    logs = tmp_path_factory.mktemp("cluster")
    cache = logs / "cache"
    port = free_port()
    api = start_api(postgres_url, port, logs / "api.log", cache)
    workers = [start_worker(postgres_url, logs / f"worker{i}.log", cache) for i in range(3)]
    cluster = Cluster(postgres_url, port, make_key(postgres_url, Scope.SUBMIT), api, workers, logs)
    yield cluster
    for process in [cluster.api, *cluster.workers]:
        stop(process)


def _worker_pids_with_claims(cluster: Cluster, job_id: int) -> set[int]:
    from service.models import Worker

    engine = make_engine(cluster.url)
    with make_session_factory(engine)() as session:
        pids = set(
            session.scalars(
                select(Worker.pid)
                .join(TrialClaim, TrialClaim.worker_id == Worker.id)
                .where(TrialClaim.job_id == job_id)
            )
        )
    engine.dispose()
    return pids


def test_three_workers_run_exactly_n_trials_each_once(cluster):
    job_id, name = cluster.submit(name=unique_name("three"), n_trials=12)
    job = cluster.finished(job_id)
    assert job["status"] == "done", cluster.log_tail()
    trials = cluster.trials(name)
    assert trials["COMPLETE"] + trials.get("PRUNED", 0) == 12  # PRUNED: a design tried already
    assert sum(trials.values()) == 12  # no trial failed, none was started twice
    assert cluster.claims(job_id) == {ClaimState.DONE: 12}  # one slot per trial
    assert len(_worker_pids_with_claims(cluster, job_id)) >= 2  # the work was shared
    assert job["progress"]["baselines_done"]


def _all_busy(cluster: Cluster, job_id: int, name: str) -> int | None:
    """The pid of a worker holding a claim while every live claim's trial is RUNNING."""
    from service.models import Worker

    engine = make_engine(cluster.url)
    with make_session_factory(engine)() as session:
        pids = list(
            session.scalars(
                select(Worker.pid)
                .join(TrialClaim, TrialClaim.worker_id == Worker.id)
                .where(TrialClaim.job_id == job_id, TrialClaim.state == ClaimState.ACTIVE)
            )
        )
        running = trial_counts(session, [name])[name]["RUNNING"]
    engine.dispose()
    return pids[0] if pids and running >= len(pids) == len(cluster.workers) else None


def _stopped_all_busy(cluster: Cluster, job_id: int, name: str) -> int | None:
    """`_all_busy` asked while every worker is stopped (SIGSTOP), so the victim cannot finish
    its trial between the question and the kill; the others are continued afterwards."""
    for worker in cluster.workers:
        os.kill(worker.pid, signal.SIGSTOP)
    victim = _all_busy(cluster, job_id, name)
    if victim is not None:
        os.kill(victim, signal.SIGKILL)
    for worker in cluster.workers:
        if worker.pid != victim:
            os.kill(worker.pid, signal.SIGCONT)
    return victim


def test_sigkilled_worker_mid_trial_the_job_still_completes_exactly(cluster):
    # fine-tuned trials last long enough to find all three workers inside one on a quiet
    # machine (untuned digits-mlp trials take a few tens of ms)
    job_id, name = cluster.submit(name=unique_name("kill"), n_trials=16, finetune={"epochs": 1})
    deadline, victim = time.monotonic() + 90, None
    while victim is None and time.monotonic() < deadline:
        victim = _stopped_all_busy(cluster, job_id, name)
        time.sleep(0.02)
    assert victim is not None, cluster.log_tail()
    killed = next(p for p in cluster.workers if p.pid == victim)
    killed.wait()
    cluster.workers.remove(killed)
    job = cluster.finished(job_id)
    assert job["status"] == "done", cluster.log_tail()
    trials = cluster.trials(name)
    # a PRUNED trial (a design already tried, or stopped early) spends its slot as a complete one
    finished = trials["COMPLETE"] + trials.get("PRUNED", 0)
    assert finished == 16 and trials["RUNNING"] == 0 and trials["WAITING"] == 0, (
        trials,
        cluster.claims(job_id),
        cluster.log_tail(),
    )
    # the killed trial: failed by its heartbeat, or at finalize when it died before its first
    assert trials["FAIL"] == 1
    claims = cluster.claims(job_id)
    assert claims[ClaimState.EXPIRED] == 1 and ClaimState.ACTIVE not in claims


def test_restarting_the_api_mid_job_loses_nothing(cluster):
    job_id, name = cluster.submit(name=unique_name("restart"), n_trials=12)
    cluster.wait(job_id, lambda job: job["progress"]["trials_complete"] >= 2)
    cluster.api.send_signal(signal.SIGKILL)
    cluster.api.wait()
    cluster.api = start_api(
        cluster.url, cluster.port, cluster.logs / "api.log", cluster.logs / "cache"
    )
    listed = {j["id"] for j in cluster.http("GET", "/jobs").json()["data"]}
    assert job_id in listed and len(listed) >= 1
    job = cluster.finished(job_id)
    trials = cluster.trials(name)
    assert job["status"] == "done" and trials["COMPLETE"] + trials.get("PRUNED", 0) == 12
    engine = make_engine(cluster.url)
    with make_session_factory(engine)() as session:
        assert session.get(Job, job_id).finalized_at is not None
    engine.dispose()
