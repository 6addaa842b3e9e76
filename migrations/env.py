"""Alembic environment for the service's own tables.

Metadata comes from `service.models`, the URL from `Settings` (or from the `database_url`
attribute that `hwsearch db upgrade --db URL` passes). Optuna shares the database and stamps
the default `alembic_version` table, so ours is `hws_alembic_version`, and autogenerate only
looks at tables our metadata names (Optuna's would otherwise be proposed for dropping).
"""

from alembic import context

from service.core.config import get_settings
from service.core.db import make_engine
from service.core.schema import VERSION_TABLE, include_name
from service.models import Base

target_metadata = Base.metadata


def _url() -> str:
    return context.config.attributes.get("database_url") or get_settings().database_url


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
