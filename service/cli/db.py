"""`hwsearch db`: create and upgrade the database schema (ours and Optuna's)."""

import typer

from service.cli._console import console, fail
from service.cli._options import DEFAULT_DB, DbOpt

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(db: DbOpt = DEFAULT_DB) -> None:
    """Upgrade the service's tables to the latest revision and create Optuna's schema.

    Run once before starting workers (several processes creating the schema at once fail).
    """
    from service.core.db import absolute_url
    from service.core.schema import upgrade as upgrade_schema

    try:
        head = upgrade_schema(absolute_url(db))
    except Exception as err:  # connection refused, bad URL, ...: say so and exit 2
        fail(f"cannot upgrade {db}: {err}")
    console.print(f"database at revision {head}: {db}", highlight=False)


@app.command()
def current(db: DbOpt = DEFAULT_DB) -> None:
    """Print the schema revision of the database and the one this code needs."""
    from service.core.db import absolute_url, make_engine
    from service.core.schema import current_revision, head_revision

    engine = make_engine(absolute_url(db))
    try:
        console.print(f"database {current_revision(engine) or 'empty'}, code {head_revision()}")
    finally:
        engine.dispose()
