"""Options shared by the service commands."""

from typing import Annotated

import typer

from service.core.config import DEFAULT_DATABASE_URL

DbOpt = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="HWSEARCH_DATABASE_URL",
        help="database URL: sqlite:///path or postgresql+psycopg://...",
    ),
]
DEFAULT_DB = DEFAULT_DATABASE_URL
ServerOpt = Annotated[
    str, typer.Option("--server", envvar="HWSEARCH_SERVER", help="the service's base URL")
]
DEFAULT_SERVER = "http://127.0.0.1:8000"
KeyOpt = Annotated[
    str | None, typer.Option("--key", envvar="HWSEARCH_KEY", help="API key (or $HWSEARCH_KEY)")
]
