"""optuna-dashboard behind API keys.

The dashboard is a WSGI app (`optuna_dashboard.wsgi`) wrapped for ASGI (`a2wsgi`). Its front
end calls `/api/...` and `/static/...` at the root, so it is mounted at `/`, after the API
(../shared/PITFALLS.md). It has no authentication of its own and has write endpoints (delete
a study, tell a trial, notes), so every request needs a key, and only keys with the submit
scope may use methods other than GET/HEAD/OPTIONS.

optuna-dashboard 0.21 reads `request.headers["Accept-Encoding"]` for its static files and
favicon, a KeyError (500) for clients that send none (curl, scripts): such requests get
`Accept-Encoding: identity`, what no header means (RFC 9110), so the files come uncompressed.
"""

from a2wsgi import WSGIMiddleware
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service import auth
from service.core.security import Scope as KeyScope

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class GuardedDashboard:
    """ASGI: 401 without a valid key (browsers then prompt), 403 for writes without submit."""

    def __init__(self, app: ASGIApp, sessions: sessionmaker[Session]):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secret = auth.secret_from_headers(Headers(scope=scope))
        key = await run_in_threadpool(auth.authenticate, self.sessions, secret)
        if key is None:
            response = PlainTextResponse(
                "an API key is required (Basic: any user name, the key as password)",
                401,
                headers={"WWW-Authenticate": auth.REALM},
            )
        elif scope["method"] not in READ_METHODS and not auth.has_scope(key, KeyScope.SUBMIT):
            response = PlainTextResponse(
                "the dashboard is read-only for this key (its scopes:"
                f" {', '.join(key.scopes)}); writing needs submit",
                403,
            )
        else:
            await self.app(_with_accept_encoding(scope), receive, send)
            return
        await response(scope, receive, send)


def _with_accept_encoding(scope: Scope) -> Scope:
    headers = scope["headers"]
    if any(name == b"accept-encoding" for name, _ in headers):
        return scope
    return {**scope, "headers": [*headers, (b"accept-encoding", b"identity")]}


def dashboard_app(database_url: str, sessions: sessionmaker[Session]) -> GuardedDashboard:
    import optuna_dashboard

    from search import make_storage

    storage = make_storage(database_url, heartbeat=False)
    return GuardedDashboard(WSGIMiddleware(optuna_dashboard.wsgi(storage)), sessions)
