"""The service's engine and sessions.

SQLite (the embedded default) is shared by the API, every worker and Optuna. pysqlite starts
transactions late and SQLite ignores `FOR UPDATE`, so every transaction here begins with
`BEGIN IMMEDIATE`: it takes the write lock up front, which makes each claim (read, decide,
write) atomic across processes, as `search.storage` does for Optuna's engine. PostgreSQL
gets real row locks (`FOR UPDATE [SKIP LOCKED]`) from the queries themselves.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_S = 60


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:///path URL, None for other databases or in-memory SQLite."""
    if not url.startswith("sqlite:///") or url in ("sqlite://", "sqlite:///:memory:"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def absolute_url(url: str) -> str:
    """A relative sqlite:///path made absolute, so processes in other directories agree."""
    path = sqlite_path(url)
    return f"sqlite:///{path.resolve()}" if path is not None else url


def _serialize_sqlite(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, for_writes: bool = True) -> Engine:
    """An engine for `url`; a SQLite file's directory is created if needed.

    `for_writes=False` gives SQLite read transactions that begin deferred: in WAL mode they
    neither wait for nor block the writers (Optuna's included), so an API request may read
    here while it calls Optuna. Never write through such an engine.
    """
    path = sqlite_path(url)
    if url.startswith("sqlite"):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _serialize_sqlite(engine, immediate=for_writes)
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One short transaction: committed on success, rolled back on error."""
    with sessions.begin() as session:
        yield session
