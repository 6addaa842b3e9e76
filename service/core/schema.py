"""Create and check the database schema: ours through Alembic, Optuna's through Optuna.

`upgrade(url)` is what `hwsearch db upgrade` (and `hwsearch serve`, and compose's migrate
step) runs once before any worker starts: several processes creating Optuna's schema at once
fail (../shared/PITFALLS.md), so nothing else creates it.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations
from service.models import Base

VERSION_TABLE = "hws_alembic_version"  # Optuna stamps the default alembic_version


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Autogenerate looks at our tables only (it would propose dropping Optuna's)."""
    if type_ == "table":
        return name in Base.metadata.tables
    return True


class SchemaError(RuntimeError):
    """The database is not at the schema this code expects."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "migrations/versions has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def check_schema(engine: Engine) -> None:
    """Raise SchemaError unless our tables are at the head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = f"is at revision {current}" if current else "has no hwsearch tables"
        raise SchemaError(
            f"the database {where}; this code needs {head}: run `hwsearch db upgrade --db URL`"
        )


def upgrade(url: str) -> str:
    """Upgrade our tables to head and create Optuna's schema; returns the head revision."""
    from search import make_storage

    command.upgrade(alembic_config(url), "head")
    make_storage(url, heartbeat=False).engine.dispose()  # RDBStorage creates Optuna's tables
    return head_revision()
