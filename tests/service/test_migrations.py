"""Alembic: an empty database upgrades to head; the models and the migrations agree;
Optuna's tables, in the same database, are left alone."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.core.db import make_engine
from service.core.schema import (
    VERSION_TABLE,
    SchemaError,
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    include_name,
    upgrade,
)
from service.models import Base
from tests.utils.databases import postgres_database, sqlite_url

OURS = set(Base.metadata.tables)


def _check_upgrade_from_empty(url: str) -> None:
    engine = make_engine(url)
    with pytest.raises(SchemaError):
        check_schema(engine)
    assert upgrade(url) == head_revision()
    check_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert OURS | {VERSION_TABLE, "studies", "trials", "alembic_version"} <= tables
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []  # nothing about Optuna's tables
    command.downgrade(alembic_config(url), "base")
    left = set(inspect(engine).get_table_names())
    assert not left & OURS and {"studies", "trials"} <= left
    assert current_revision(engine) is None
    engine.dispose()


def test_sqlite_upgrades_from_empty_to_head(tmp_path):
    _check_upgrade_from_empty(sqlite_url(tmp_path / "empty.db"))


@pytest.mark.postgres
def test_postgres_upgrades_from_empty_to_head():
    with postgres_database("hwsearch_test_migrate") as url:
        _check_upgrade_from_empty(url)


def test_migrations_ignore_optuna_tables():
    assert include_name("trials", "table", {}) is False
    assert include_name("hws_jobs", "table", {}) is True
