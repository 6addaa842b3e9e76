"""Databases for service tests: upgraded SQLite files, and throwaway PostgreSQL databases."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

# Trust auth on the local server; each test session makes (and drops) its own database.
POSTGRES_URL = os.environ.get(
    "HWSEARCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def upgraded(url: str) -> str:
    """`url` with our tables at head and Optuna's schema (what `hwsearch db upgrade` does)."""
    from service.core.schema import upgrade

    upgrade(url)
    return url


@contextmanager
def postgres_database(prefix: str = "hwsearch_test") -> Iterator[str]:
    """A fresh, empty database on the test server; dropped (connections and all) after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
