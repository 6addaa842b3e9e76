"""`hwsearch keys`: API keys with scopes (read; submit, which implies read)."""

from typing import Annotated

import typer
from rich.table import Table

from service.cli._console import console, fail
from service.cli._options import DEFAULT_DB, DbOpt
from service.core.security import Scope

app = typer.Typer(help="API keys.", no_args_is_help=True)


def _sessions(db: str):
    from service.core.db import absolute_url, make_engine, make_session_factory
    from service.core.schema import SchemaError, check_schema

    engine = make_engine(absolute_url(db))
    try:
        check_schema(engine)
    except SchemaError as err:
        fail(str(err))
    return make_session_factory(engine)


@app.command()
def create(
    scope: Annotated[list[Scope], typer.Option(help="read or submit (repeatable)")],
    name: Annotated[str, typer.Option(help="who or what uses it")] = "cli",
    db: DbOpt = DEFAULT_DB,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print the key only")] = False,
) -> None:
    """Create a key and print it (once: only its SHA-256 digest is stored)."""
    from service import crud

    with _sessions(db).begin() as session:
        key, secret = crud.create_api_key(session=session, name=name, scopes=scope)
        key_id, scopes = key.id, key.scopes
    if quiet:
        print(secret)
        return
    console.print(f"key {key_id} ({name}, scopes {', '.join(scopes)}):", highlight=False)
    print(secret)


@app.command("list")
def list_keys(db: DbOpt = DEFAULT_DB) -> None:
    """List keys (never their secrets)."""
    from service import crud

    table = Table()
    for col in ("id", "name", "prefix", "scopes", "created", "last used", "revoked"):
        table.add_column(col)
    with _sessions(db).begin() as session:
        for k in crud.list_api_keys(session=session):
            table.add_row(
                str(k.id),
                k.name,
                k.prefix + "...",
                ", ".join(k.scopes),
                f"{k.created_at:%Y-%m-%d %H:%M}",
                f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-",
            )
    console.print(table)


@app.command()
def revoke(key_id: int, db: DbOpt = DEFAULT_DB) -> None:
    """Revoke a key by id; it stops working at once."""
    from service import crud

    with _sessions(db).begin() as session:
        if crud.revoke_api_key(session=session, key_id=key_id) is None:
            fail(f"no key {key_id}")
    console.print(f"key {key_id} revoked")
