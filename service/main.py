"""The FastAPI app: the API under /v1, its docs at /docs and /redoc (served offline), the
guarded dashboard at /.

uvicorn --factory service.main:create_app     # settings from HWSEARCH_* variables
hwsearch serve                                # the embedded default, with workers
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from service import __version__
from service.api.docs import add_docs
from service.api.main import api_router
from service.api.openapi import document_job_spec
from service.core.config import Settings, get_settings
from service.core.db import make_engine, make_session_factory
from service.core.schema import check_schema
from service.documents import DocumentError
from service.payloads import SubmissionError

DESCRIPTION = """Hardware-aware sparsity and quantization search for dataflow FPGA accelerators.

Submit a job spec; workers search per-layer sparsity and bit widths with Optuna, score each
candidate for accuracy and with an analytic FPGA model, confirm the Pareto front in RTL
simulation. Every route but `/health` needs an API key (`hwsearch keys create`): header
`X-API-Key`, `Authorization: Bearer <key>`, or HTTP Basic with the key as password. Keys with
the `read` scope read; `submit` also submits and cancels. These docs (`/docs`, `/redoc`,
`/openapi.json`) need none. The optuna-dashboard is at `/` (a key as Basic password).

Errors: `{"detail": "..."}` for a missing key (401), scope (403), job (404); a refused
request is `{"detail": [{"type", "loc", "msg"}]}` naming the field (413, 415, 422; 409 for
a taken name); a multipart body its parser refuses is a 400. Job specs nest at most 32
levels, with numbers of at most 30 digits, finite.
"""


def _documented_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document gives the request's path (GET implies HEAD)."""
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods = {m.upper() for m in operations}
            return sorted(methods | ({"HEAD"} if "GET" in methods else set()))
    return []


async def _not_routed(scope: Scope, _receive: Receive, _send: Send) -> None:
    """ASGI, below the API prefix where no route matched: 405 on a documented path, or 404."""
    if _documented_methods(Request(scope)):
        raise HTTPException(405)
    raise HTTPException(404)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    read_engine = make_engine(settings.database_url, for_writes=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        check_schema(engine)
        yield
        engine.dispose()
        read_engine.dispose()

    app = FastAPI(
        title="hwsearch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessions = make_session_factory(engine)
    app.state.read_sessions = make_session_factory(read_engine)
    app.state.storage = None

    @app.exception_handler(SubmissionError)
    @app.exception_handler(DocumentError)
    async def _refused(_request: Request, err: SubmissionError | DocumentError) -> JSONResponse:
        return JSONResponse({"detail": err.detail()}, status_code=err.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, each error once (a path parameter that several dependencies read,
        such as job_id, would otherwise be reported once per dependency)."""
        unique = {(tuple(e["loc"]), e["type"]): e for e in err.errors()}
        return JSONResponse({"detail": jsonable_encoder(list(unique.values()))}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, err: HTTPException) -> JSONResponse:
        """As FastAPI's, but a 405's `Allow` lists the methods of every route on the path
        (Starlette names only the first route's, e.g. POST for /v1/jobs, which has GET too)."""
        if err.status_code == 405 and (methods := _documented_methods(request)):
            err.headers = {**(err.headers or {}), "Allow": ", ".join(methods)}
        return await http_exception_handler(request, err)

    app.include_router(api_router, prefix=settings.api_prefix)
    document_job_spec(app)
    add_docs(app)
    if settings.dashboard:
        from service.dashboard import dashboard_app

        # The dashboard catches every path: below the API prefix, unknown paths and methods
        # stay the API's 404 and 405.
        app.mount(settings.api_prefix, _not_routed)
        app.mount("/", dashboard_app(settings.database_url, app.state.sessions))
    return app
