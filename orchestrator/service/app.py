"""The FastAPI application: routes, authentication and the error boundary.

Every route but the probes (`/healthz`, `/readyz`), the OpenAPI document and
the web view (`/ui`, with its own session cookie: service/ui) needs a bearer
token whose principal holds the route's permission: no token or an unknown one
is 401, a known one without the permission 403.
Errors answer as `{"error": "<one line>"}` with the status that says whose
fault it is: 4xx for the request (the line names the place, as the CLI's
does), 503 when the store is unreachable, 500 for anything unexpected; a
5xx says only that much, never the store's address or the driver's words.
No error path returns 2xx, and so none can read as an approval.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.errors import (
    AmbiguousDecisionId,
    CommanderError,
    DecisionNotFound,
    IdentityError,
    InputError,
    Refused,
    ReviewRunError,
    StoreError,
    UsageError,
    UserError,
)
from orchestrator.service.auth import Permission
from orchestrator.service.checkpoints import audit_router
from orchestrator.service.deps import State, require
from orchestrator.service.routes_gate import gate_router
from orchestrator.service.routes_github import github_router
from orchestrator.service.routes_guard import guard_router
from orchestrator.service.routes_reviews import reviews_router
from orchestrator.service.routes_runtask import run_task_router
from orchestrator.service.routes_wait import wait_router
from orchestrator.service.state import ServiceOptions, ServiceState
from orchestrator.service.ui import install as install_ui

log = logging.getLogger("commander.service")

API_TITLE = "commander"
API_VERSION = "1"


def create_app(options: ServiceOptions) -> FastAPI:
    """Load everything the service needs (failing here, before the port opens) and wire it."""
    state = ServiceState(options)
    app = build_app()
    app.state.commander = state
    return app


def build_app() -> FastAPI:
    """The routes without a loaded state: what the OpenAPI document describes."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state = getattr(app.state, "commander", None)
        if state is not None:
            state.close()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        summary="Review proposed infrastructure and code changes before they reach production.",
        # The interactive pages load scripts from a CDN; the document itself is served.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(reviews_router)
    app.include_router(wait_router)
    app.include_router(gate_router)
    app.include_router(guard_router)
    app.include_router(audit_router)
    install_ui(app)
    app.include_router(github_router)
    app.include_router(run_task_router)
    _add_probes(app)
    _add_error_boundary(app)
    _add_request_metrics(app)
    return app


def _add_probes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["probes"], summary="The process is up.")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="The audit store answers.",
        responses={503: {"description": "The store does not answer."}},
    )
    def readyz(state: State) -> JSONResponse:
        try:
            state.ready()
        except StoreError as exc:
            log.error("not ready: %s", exc)
            return JSONResponse({"status": "unavailable", "error": STORE_DOWN}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        tags=["probes"],
        summary="Prometheus metrics.",
        response_class=PlainTextResponse,
        dependencies=[Depends(require(Permission.METRICS))],
    )
    def metrics(state: State) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # noqa: PLC0415

        try:
            state.observe_gate()
        except StoreError as exc:
            # counted at the next scrape that reaches the store: the watch has not moved on
            log.warning("metrics: gate endings not read: %s", exc)
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


# Whose fault each error is; the first class that matches wins.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (DecisionNotFound, 404),
    (AmbiguousDecisionId, 400),
    (Refused, 409),
    (InputError, 422),
    (IdentityError, 422),  # a name refused by orchestrator/identity.py, with its field
    (UsageError, 400),
    (StoreError, 503),
    (UserError, 500),  # a config error on the server's side, not the caller's
    (ReviewRunError, 500),
)


# What a caller is told of a failure on the server's side: the reason (the store's address,
# the driver's message, a path on the server) goes to the service's own log only.
STORE_DOWN = "the audit store is unavailable; the service's log has the reason"
INTERNAL = "internal error; the service's log has the details"


def _add_error_boundary(app: FastAPI) -> None:
    @app.exception_handler(CommanderError)
    async def commander_error(_: Request, exc: CommanderError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        if status < 500:
            return JSONResponse({"error": str(exc)}, status_code=status)
        log.error("%s: %s", type(exc).__name__, exc)
        return JSONResponse({"error": STORE_DOWN if status == 503 else INTERNAL}, status)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        place = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"error": f"{place}: {first.get('msg', 'invalid')}"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return JSONResponse({"error": INTERNAL}, status_code=500)


def _add_request_metrics(app: FastAPI) -> None:
    app.add_middleware(RequestCounter)


class RequestCounter:
    """Count each answered request by method, route and status (commander_http_requests).

    A plain ASGI middleware: Starlette's `@app.middleware("http")` runs every
    request in a task group and streams its answer through memory channels,
    several times the cost of this counting.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, seen)
        # The route's template, not the path: one series per route, not per decision id.
        template = getattr(scope.get("route"), "path", "unmatched")
        state: ServiceState = scope["app"].state.commander
        state.metrics.requests.labels(scope["method"], template, str(status)).inc()
