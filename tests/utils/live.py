"""The API as a live process on loopback over a copy of a test database, for clients that
speak real HTTP (schemathesis, a browser)."""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.utils.databases import sqlite_url
from tests.utils.processes import FAST_ENV, free_port, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """This environment, with the checkout first on the path (as in the test process)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **FAST_ENV, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore", **extra}


def copy_sqlite(url: str, directory: Path) -> str:
    """A consistent copy (SQLite's backup API, WAL included) of the database at `url`."""
    target = directory / "hwsearch.db"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return sqlite_url(target)


@contextmanager
def live_api(url: str, directory: Path, *args: str) -> Iterator[str]:
    """`hwsearch api` (with the dashboard unless `--no-dashboard` is in `args`) on a free
    port; yields its base URL. The log is `directory / "api.log"`."""
    port = free_port()
    with (directory / "api.log").open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "api", "--db", url, "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(HWSEARCH_CACHE_DIR=str(directory / "cache")),
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)
