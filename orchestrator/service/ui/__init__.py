"""The read-only web view under /ui: the record in a browser, for post-incident reading.

sessions.py  a reader token exchanged once for a session cookie; CSRF on login
routes.py    the pages: login, decisions, a decision, an incident, an actor
listing.py   the decisions list: filters, one page, the keyset cursor
views.py     what the other pages show, read from the store
timeline.py  a decision's gate timeline, from the audit chain
graph.py     the blast-radius graph as inline SVG
pages.py     the Jinja2 templates (templates/), autoescaped
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def install(app: FastAPI) -> None:
    """Add the /ui routes, and the redirect to the login page for a request without a session."""
    from orchestrator.service.ui.routes import LoginRequired, login_redirect, ui_router  # noqa: PLC0415

    app.include_router(ui_router)
    app.add_exception_handler(LoginRequired, login_redirect)

    app.add_middleware(ServerTiming)


class ServerTiming:
    """The page's server time as a `Server-Timing` header on /ui answers.

    For the browser's network panel and bench/ui_bench.py. A plain ASGI
    middleware: every other path passes straight through, where Starlette's
    `@app.middleware("http")` would wrap each request of the API too in a
    task group and a streaming response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/ui"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", f"app;dur={spent:.1f}")
            await send(message)

        await self.app(scope, receive, timed)
