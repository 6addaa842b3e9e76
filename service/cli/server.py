"""`hwsearch worker`, `serve`, `api`, `dashboard`: the processes of the service.

hwsearch serve                         # embedded: SQLite, 2 workers, API + dashboard
hwsearch worker --db postgresql+psycopg://...   # scale out: on any machine, any number
"""

import logging
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from service.cli._console import console, fail
from service.cli._options import DEFAULT_DB, DbOpt

HostOpt = Annotated[str, typer.Option(help="interface to listen on")]
PortOpt = Annotated[int, typer.Option(help="port to listen on")]
LogLevelOpt = Annotated[str, typer.Option(help="debug, info, warning")]
WORKER_STOP_TIMEOUT_S = 30


def _settings(db: str, **overrides):
    from pydantic import ValidationError

    from service.core.config import Settings
    from service.core.db import absolute_url

    try:
        return Settings(database_url=absolute_url(db), **overrides)
    except ValidationError as err:
        fail(str(err))


def optuna_experimental_warning() -> type[Warning]:
    from optuna.exceptions import ExperimentalWarning

    return ExperimentalWarning  # heartbeats are "experimental" in Optuna; we rely on them


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s"
    )
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna_experimental_warning())


def worker(
    db: DbOpt = DEFAULT_DB,
    idle_exit: Annotated[
        float | None, typer.Option(help="exit after this many seconds without work")
    ] = None,
    parent_pid: Annotated[
        int | None, typer.Option(hidden=True, help="stop when this parent process is gone")
    ] = None,
    log_level: LogLevelOpt = "info",
) -> None:
    """Run jobs from the database: baselines, trials, the front, RTL confirmations."""
    from service.core.schema import SchemaError
    from service.workers.runner import Worker

    _logging(log_level)
    try:
        Worker(_settings(db), idle_exit_s=idle_exit, parent_pid=parent_pid).run()
    except SchemaError as err:
        fail(str(err))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _run_uvicorn(app, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=10)


def api(
    db: DbOpt = DEFAULT_DB,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    dashboard: Annotated[bool, typer.Option(help="mount optuna-dashboard at /")] = True,
    log_level: LogLevelOpt = "info",
) -> None:
    """Serve the API (and the guarded dashboard) only: no migration, no workers."""
    from service.main import create_app

    _logging(log_level)
    _run_uvicorn(create_app(_settings(db, dashboard=dashboard)), host, port)


def dashboard(db: DbOpt = DEFAULT_DB, host: HostOpt = "127.0.0.1", port: PortOpt = 8080) -> None:
    """Serve optuna-dashboard alone, behind API keys (read-only without the submit scope)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from service.core.db import make_engine, make_session_factory
    from service.core.schema import SchemaError, check_schema
    from service.dashboard import dashboard_app

    settings = _settings(db)
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine)
    except SchemaError as err:
        fail(str(err))
    guarded = dashboard_app(settings.database_url, make_session_factory(engine))
    _run_uvicorn(Starlette(routes=[Mount("/", guarded)]), host, port)


def _first_key(settings, key_file: Path | None) -> str | None:
    """A submit key when the database has none yet (a fresh embedded install)."""
    from service import crud
    from service.core.db import make_engine, make_session_factory
    from service.core.security import Scope

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            if crud.list_api_keys(session=session):
                return None
            _key, secret = crud.create_api_key(
                session=session, name="serve (first run)", scopes=[Scope.SUBMIT]
            )
    finally:
        engine.dispose()
    if key_file is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secret + "\n")
        key_file.chmod(0o600)
    return secret


class _Shutdown(Exception):
    pass


@contextmanager
def _stop_signals() -> Iterator[None]:
    """uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again for the previous
    handler: make that handler end the `with` quietly, so the workers are stopped too."""

    def shutdown(*_args) -> None:
        raise _Shutdown

    previous = {s: signal.signal(s, shutdown) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Shutdown:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(workers: list[subprocess.Popen]) -> None:
    """SIGTERM (finish the current trial), then SIGKILL after a timeout."""
    for p in workers:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in workers:
        try:
            p.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def serve(
    db: DbOpt = DEFAULT_DB,
    workers: Annotated[int, typer.Option(help="local worker processes")] = 2,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    dashboard: Annotated[bool, typer.Option(help="mount optuna-dashboard at /")] = True,
    key_file: Annotated[
        Path | None, typer.Option(help="write the first-run key here (mode 600)")
    ] = None,
    log_level: LogLevelOpt = "info",
) -> None:
    """The embedded default in one command: upgrade the database, start local workers, serve
    the API and the dashboard. Ctrl-C stops everything."""
    from service.core.schema import upgrade
    from service.main import create_app

    _logging(log_level)
    settings = _settings(db, dashboard=dashboard)
    try:
        upgrade(settings.database_url)
    except Exception as err:  # report the database problem and exit 2
        fail(f"cannot prepare {settings.database_url}: {err}")
    secret = _first_key(settings, key_file)
    command = [sys.executable, "-m", "service.cli", "worker", "--db", settings.database_url]
    command += ["--parent-pid", str(os.getpid()), "--log-level", log_level]
    processes = [subprocess.Popen(command) for _ in range(workers)]
    base = f"http://{host}:{port}"
    console.print(
        f"hwsearch: API {base}{settings.api_prefix}, docs {base}/docs"
        + (f", dashboard {base}/" if dashboard else "")
        + f"; {workers} workers; database {settings.database_url}",
        highlight=False,
    )
    if secret is not None:
        console.print(
            "first run: a key with the submit scope (kept only as a digest):", highlight=False
        )
        print(secret, flush=True)
    try:
        with _stop_signals():
            _run_uvicorn(create_app(settings), host, port)
    finally:
        _stop(processes)
