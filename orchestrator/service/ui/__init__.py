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
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response


def install(app: FastAPI) -> None:
    """Add the /ui routes, and the redirect to the login page for a request without a session."""
    from orchestrator.service.ui.routes import LoginRequired, login_redirect, ui_router  # noqa: PLC0415

    app.include_router(ui_router)
    app.add_exception_handler(LoginRequired, login_redirect)

    @app.middleware("http")
    async def server_timing(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # The page's server time, for the browser's network panel and bench/ui_bench.py.
        started = time.perf_counter()
        response = await call_next(request)
        if request.url.path.startswith("/ui"):
            spent = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={spent:.1f}"
        return response
