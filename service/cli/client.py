"""`hwsearch submit`, `status`, `cancel`: talk to a running service over HTTP.

export HWSEARCH_SERVER=http://127.0.0.1:8000 HWSEARCH_KEY=hws_...
hwsearch submit examples/digits-mlp.toml --wait
hwsearch status 1
"""

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from service.cli._console import console, err_console, fail
from service.cli._options import DEFAULT_SERVER, KeyOpt, ServerOpt

API = "/v1"
FINISHED = ("done", "failed", "cancelled")
POLL_S = 2.0


class Client:
    """A small httpx wrapper that turns the API's errors into readable messages."""

    def __init__(self, server: str, key: str | None):
        import httpx

        if not key:
            fail("give an API key: --key KEY or HWSEARCH_KEY (hwsearch keys create)")
        base = server.rstrip("/").removesuffix(API)
        self.http = httpx.Client(base_url=base + API, headers={"X-API-Key": key}, timeout=120)

    def call(self, method: str, path: str, **kwargs):
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            fail(f"cannot reach {self.http.base_url}: {err}")
        if response.is_error:
            fail(f"{response.status_code}: {_explain(response)}")
        return response


def _explain(response) -> str:
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError):
        return response.text[:500]
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail
        )
    return str(detail)


def _progress_line(job: dict) -> str:
    p = job["progress"]
    total = p["n_trials"] if p["n_trials"] is not None else "?"
    parts = [
        f"job {job['id']} {job['name']}: {job['status']}",
        f"trials {p['trials_complete']}/{total}",
        f"{p['workers_active']} workers active",
    ]
    if p["confirmations"]:
        parts.append(
            "confirmations " + ", ".join(f"{k} {v}" for k, v in p["confirmations"].items())
        )
    if job.get("error"):
        parts.append(f"error: {job['error']}")
    return "; ".join(parts)


FRONT_COLUMNS = (
    "trials",
    "val acc",
    "test acc",
    "inf/s",
    "latency us",
    "LUT",
    "FF",
    "DSP",
    "BRAM18",
    "RTL confirmation",
    "per layer (weight/act sparsity, w/a bits)",
)


def front_table(members: list[dict], title: str) -> Table:
    """One row per distinct front design (schemas.FrontMember as JSON): every trial that built
    it, and ✓ before the confirmation when simulation confirmed it bit- and cycle-exact."""
    table = Table(title=title)
    for col in FRONT_COLUMNS:
        table.add_column(col, overflow="fold")
    for m in members:
        test = f"{m['test_accuracy']:.4f}" if m["test_accuracy"] is not None else "-"
        table.add_row(
            ", ".join(map(str, m.get("trials") or [m["trial"]])),
            f"{m['val_accuracy']:.4f}",
            test,
            f"{m['throughput_fps']:,.0f}",
            f"{m['latency_us']:.2f}",
            f"{m['lut']:,}",
            f"{m['ff']:,}",
            str(m["dsp"]),
            f"{m['bram']:g}",
            ("✓ " if m.get("confirmed") else "") + (m["confirmation_summary"] or "-"),
            m["layers"],
        )
    return table


def _wait(client: Client, job_id: int) -> dict:
    last = ""
    while True:
        job = client.call("GET", f"/jobs/{job_id}").json()
        line = _progress_line(job)
        if line != last:
            err_console.print(line, highlight=False)
            last = line
        if job["status"] in FINISHED:
            return job
        time.sleep(POLL_S)


def _show(job: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(job, indent=2))
        return
    console.print(_progress_line(job), highlight=False)
    if job.get("front"):
        console.print(front_table(job["front"], f"Pareto front of {job['name']}"))
    console.print(
        f"links: {', '.join(f'{k} {v}' for k, v in job['links'].items())}", highlight=False
    )


def submit(
    job: Annotated[Path, typer.Argument(help="job spec (.toml or .json)")],
    server: ServerOpt = DEFAULT_SERVER,
    key: KeyOpt = None,
    model: Annotated[
        Path | None, typer.Option(help="model file to upload: ONNX or torch.export .pt2")
    ] = None,
    dataset: Annotated[Path | None, typer.Option(help="dataset file to upload")] = None,
    wait: Annotated[bool, typer.Option(help="follow progress until the job ends")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Submit a job spec to a service (with --model/--dataset files when it uses them)."""
    if job.suffix not in (".toml", ".json") or not job.is_file():
        fail(f"{job}: give an existing .toml or .json job file")
    client = Client(server, key)
    if model is None and dataset is None:
        media = "application/json" if job.suffix == ".json" else "application/toml"
        response = client.call(
            "POST", "/jobs", content=job.read_bytes(), headers={"Content-Type": media}
        )
    else:
        files = {"spec": (job.name, job.read_bytes())}
        for name, path in (("model", model), ("dataset", dataset)):
            if path is not None:
                files[name] = (path.name, path.read_bytes())
        response = client.call("POST", "/jobs", files=files)
    created = response.json()
    if not as_json:
        console.print(
            f"submitted job {created['id']} ({created['name']}): {created['links']['self']}",
            highlight=False,
        )
    if wait:
        created = _wait(client, created["id"])
    _show(client.call("GET", f"/jobs/{created['id']}").json() if wait else created, as_json)


def status(
    job_id: Annotated[int, typer.Argument(help="job id (hwsearch submit prints it)")],
    server: ServerOpt = DEFAULT_SERVER,
    key: KeyOpt = None,
    wait: Annotated[bool, typer.Option(help="follow progress until the job ends")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Progress of a job (trials, workers, confirmations) and its current front."""
    client = Client(server, key)
    if wait:
        _wait(client, job_id)
    _show(client.call("GET", f"/jobs/{job_id}").json(), as_json)


def cancel(
    job_id: Annotated[int, typer.Argument(help="job id")],
    server: ServerOpt = DEFAULT_SERVER,
    key: KeyOpt = None,
) -> None:
    """Cancel a job (needs the submit scope)."""
    job = Client(server, key).call("POST", f"/jobs/{job_id}/cancel").json()
    console.print(_progress_line(job), highlight=False)
