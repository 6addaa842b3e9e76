"""`make demo`: the service end to end on the embedded default, in about three minutes.

1. `hwsearch serve`: a SQLite file under runs/demo/, two local worker processes, the REST API
   and the optuna-dashboard, in one command (it creates the first API key).
2. Submit examples/digits-mlp.toml over HTTP, as a TOML body.
3. Follow the job's progress (trials done/total, workers) until its front is fixed and
   confirmed (RTL confirmation, when this build has it).
4. Print the Pareto front and where to look: API docs, dashboard, a candidate's bundle URL;
   download that bundle and check it unzips into the files the export documents.
5. Stop the server and its workers cleanly.

    python scripts/demo.py [--keep]     # --keep: leave the server running until Ctrl-C
"""

import argparse
import contextlib
import fcntl
import importlib.util
import io
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import httpx

from search import EXPORT_FILES, RTL_FILES

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "examples" / "digits-mlp.toml"
RUN_DIR = ROOT / "runs" / "demo"
BUNDLE_FILES = EXPORT_FILES | RTL_FILES
# RTL confirmation builds and simulates one accelerator per member (tens of seconds each on
# two cores); the example asks for five, the demo confirms two to stay within minutes.
DEMO_FRONT_MEMBERS = 2
TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, port: int, key_file: Path) -> subprocess.Popen:
    hwsearch = Path(sys.executable).with_name("hwsearch")
    print(f"$ hwsearch serve --db {db} --workers 2 --port {port}", flush=True)
    command = [hwsearch, "serve", "--db", db, "--workers", "2", "--port", str(port)]
    command += ["--key-file", str(key_file), "--log-level", "warning"]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"hwsearch serve exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("hwsearch serve did not come up in 120 s")


def submit(api: httpx.Client) -> dict:
    text = JOB.read_text()
    if importlib.util.find_spec("search.confirm") is not None:
        spec = tomllib.loads(text)
        spec["confirm"]["front_members"] = DEMO_FRONT_MEMBERS
        print(
            f"demo override: confirm.front_members {tomllib.loads(text)['confirm']}"
            f" -> {DEMO_FRONT_MEMBERS} (RTL simulation takes a while per member)"
        )
        response = api.post("/jobs", json=spec)
    else:
        response = api.post("/jobs", content=text, headers={"Content-Type": "application/toml"})
    print(f"$ POST /v1/jobs  ({JOB.relative_to(ROOT)}, {len(text)} bytes of TOML)")
    response.raise_for_status()
    return response.json()


def follow(api: httpx.Client, job_id: int) -> dict:
    last, deadline = "", time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        job = api.get(f"/jobs/{job_id}").json()
        p = job["progress"]
        line = (
            f"  {job['status']:<10} trials {p['trials_complete']:>3}/{p['n_trials']}  "
            f"workers {p['workers_active']}  baselines "
            f"{'done' if p['baselines_done'] else 'pending'}"
        )
        if p["confirmations"]:
            line += "  confirmations " + ", ".join(
                f"{k} {v}" for k, v in p["confirmations"].items()
            )
        if line != last:
            print(line, flush=True)
            last = line
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(2)
    raise SystemExit(f"the job did not finish in {TIMEOUT_S} s")


def show_front(api: httpx.Client, job: dict) -> dict:
    from rich.console import Console

    from service.cli.client import front_table

    front = api.get(f"/jobs/{job['id']}/front").json()
    Console(width=160).print(front_table(front["members"], f"Pareto front of {job['name']}"))
    gain = front["gain"]
    if gain and gain["throughput_ratio"]:
        print(
            f"within 1 point of dense accuracy ({gain['dense_accuracy']:.4f}): best front "
            f"member {gain['best_front']['throughput_fps']:,.0f} inf/s vs best uniform "
            f"{gain['best_uniform']['throughput_fps']:,.0f} inf/s = "
            f"{gain['throughput_ratio']:.2f}x"
        )
    return front


def check_bundle(api: httpx.Client, url: str, out: Path) -> None:
    response = api.get(url.removeprefix("/v1"))
    response.raise_for_status()
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    archive.extractall(out)
    (root,) = {name.split("/", 1)[0] for name in archive.namelist()}
    files = {p.relative_to(out / root).as_posix() for p in (out / root).rglob("*") if p.is_file()}
    print(f"bundle: {len(response.content):,} bytes, unzipped to {out / root}:")
    for name in sorted(n for n in files if "/" not in n):
        print(f"  {name:<24} {(out / root / name).stat().st_size:>8,} bytes")
    rtl_files = sorted(n for n in files if n.startswith("rtl/"))
    print(f"  rtl/                     {len(rtl_files)} files (generated top, memory files, HDL)")
    missing = BUNDLE_FILES - files
    if missing:
        raise SystemExit(f"the bundle lacks {sorted(missing)}")
    print(
        "  = the files search/export.py documents"
        + (", plus the simulation report" if "simulation_report.json" in files else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep serving until Ctrl-C")
    args = parser.parse_args()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    lock = (RUN_DIR / ".lock").open("w")
    try:  # the database is recreated below: never under another demo's server
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"another demo is running in {RUN_DIR}") from None
    for old in RUN_DIR.glob("hwsearch.db*"):
        old.unlink()
    db, port, key_file = f"sqlite:///{RUN_DIR / 'hwsearch.db'}", free_port(), RUN_DIR / "key"
    server = start_server(db, port, key_file)
    base = f"http://127.0.0.1:{port}"
    key = key_file.read_text().strip()
    started = time.monotonic()
    try:
        with httpx.Client(base_url=f"{base}/v1", headers={"X-API-Key": key}, timeout=120) as api:
            job = submit(api)
            print(
                f"job {job['id']} ({job['name']}): {job['progress']['n_trials']} trials on "
                f"{job['device']}, objectives {', '.join(job['objectives'])}"
            )
            job = follow(api, job["id"])
            if job["status"] != "done":
                raise SystemExit(f"job {job['status']}: {job['error']}")
            front = show_front(api, job)
            confirmed = [m for m in front["members"] if m["confirmation"] == "done"]
            member = (confirmed or front["members"])[0]  # its bundle has the simulation report
            bundle_url = base + member["links"]["bundle"]
            print(f"\nwhere to look (key in {key_file}):")
            print(f"  API docs     {base}/docs")
            print(f"  dashboard    {base}/  (browser login: any user name, the key as password)")
            print(
                f"  this job     {base}{job['links']['self']}   front "
                f"{base}{job['links']['front']}   plot {base}{job['links']['plot']}"
            )
            print(f"  trial {member['trial']}     {base}{member['links']['metadata']}")
            print(f"  its bundle   {bundle_url}")
            print(f'  e.g.         curl -H "X-API-Key: $(cat {key_file})" -OJ {bundle_url}')
            check_bundle(api, member["links"]["bundle"], RUN_DIR / "bundle")
        print(
            f"\ndemo done in {time.monotonic() - started:.0f} s; the database stays in "
            f"{RUN_DIR}: `hwsearch serve --db {db}` serves it again."
        )
        if args.keep:
            print("serving until Ctrl-C ...")
            server.wait()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # as Ctrl-C: workers finish their trial
            with contextlib.suppress(OSError):  # stdout may be a closed pipe by now
                print("stopping the server and its workers ...", flush=True)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0 if server.returncode in (0, None) else server.returncode


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
