"""The web view's routes under /ui: log in, the decisions list, a decision, an incident, an actor.

Read-only: nothing here writes to the store. Every page needs a session
(sessions.py); without one an HTML request is sent to the login page. Pages
forbid framing, scripts and outside resources (Content-Security-Policy), and
are never cached.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orchestrator.errors import AmbiguousDecisionId, DecisionNotFound
from orchestrator.replay import Candidate, PolicySpec, load_candidate
from orchestrator.service.auth import Permission
from orchestrator.service.deps import State
from orchestrator.service.state import ServiceState
from orchestrator.service.ui.listing import FIELDS, list_page, next_link
from orchestrator.service.ui.pages import render_page
from orchestrator.service.ui.sessions import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Session,
    csrf_matches,
    new_csrf,
)
from orchestrator.service.ui.views import actor_view, decision_view, incident_view

ui_router = APIRouter(prefix="/ui", include_in_schema=False)
MAX_FORM_BYTES = 4096
MAX_BEFORE_HOURS = 24 * 7
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class LoginRequired(Exception):
    """No live session: the handler sends the browser to the login page."""

    def __init__(self, then: str) -> None:
        super().__init__(then)
        self.then = then


def login_redirect(_: Request, exc: Exception) -> Response:
    """Where LoginRequired goes: the login page, remembering the page asked for."""
    then = exc.then if isinstance(exc, LoginRequired) else "/ui/"
    return RedirectResponse(f"/ui/login?next={quote(then, safe='')}", 303, headers=HEADERS)


def reader(request: Request, state: State) -> Session:
    """The request's session, or LoginRequired."""
    session = state.ui_sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
    return session


Reading = Annotated[Session, Depends(reader)]


def _secure(request: Request) -> bool:
    """Whether cookies carry Secure: over https, or when serve was told browsers use https."""
    state: ServiceState = request.app.state.commander
    return state.options.ui_secure_cookies or request.url.scheme == "https"


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _spec(state: ServiceState) -> PolicySpec:
    s = state.options.settings
    return PolicySpec(s.config_dir, s.topology, s.backstage)


def _candidate(state: ServiceState) -> Candidate:
    """The service's own policy as a replay candidate, loaded once."""
    return load_candidate(_spec(state))


def _missing(session: Session, exc: Exception, status: int) -> HTMLResponse:
    return _html(render_page("missing.html", session=session, message=str(exc)), status)


@ui_router.get("/login")
def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    """The login form, with a fresh CSRF value in the form and in a cookie."""
    return _login_page(request, next, None, 200)


def _login_page(request: Request, then: str, error: str | None, status: int) -> HTMLResponse:
    csrf = new_csrf()
    response = _html(render_page("login.html", csrf=csrf, then=then, error=error), status)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=3600,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@ui_router.post("/login")
async def login(request: Request, state: State) -> Response:
    """Exchange a reader token for a session cookie; the token is not kept."""
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    then = form.get("next", "/ui/")
    if not then.startswith("/ui/") or then.startswith("/ui//"):
        then = "/ui/"
    if not csrf_matches(request.cookies.get(CSRF_COOKIE), form.get("csrf")):
        message = "the form expired or came from another site: log in again from this page"
        return _login_page(request, then, message, 403)
    principal = state.auth.principal(form.get("token", "").strip())
    if principal is None or not principal.may(Permission.READ):
        reason = "unknown token" if principal is None else f"{principal.name} may not read"
        return _login_page(request, then, reason, 401)
    cookie, session = state.ui_sessions.open(principal.name)
    response = RedirectResponse(then, 303, headers=HEADERS)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(state.ui_sessions.ttl.total_seconds()),
        expires=session.expires_at.replace(tzinfo=None).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(CSRF_COOKIE, path="/ui/login", httponly=True, samesite="strict")
    return response


@ui_router.post("/logout")
async def logout(request: Request, state: State, session: Reading) -> Response:
    """End the session (the form carries the session's own CSRF value)."""
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    if not csrf_matches(session.csrf, form.get("csrf")):
        return _missing(session, Exception("the logout form came from another page"), 403)
    state.ui_sessions.close(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/ui/login", 303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


@ui_router.get("/")
def decisions(request: Request, state: State, session: Reading) -> HTMLResponse:
    """The decisions list, filtered, newest first, a page at a time."""
    params = {k: v for k, v in request.query_params.items() if k in (*FIELDS, "after")}
    page = list_page(state.store, params, state.clock())
    more = next_link(page.asked, page.next_cursor) if page.next_cursor else None
    body = render_page("decisions.html", session=session, page=page, more=more)
    return _html(body, 400 if page.error else 200)


@ui_router.get("/decisions/{ident}")
def decision(
    ident: str,
    state: State,
    session: Reading,
    replay: Annotated[bool, Query(description="Replay under the current policy.")] = False,
) -> HTMLResponse:
    """One decision: proposal, verdicts, findings, graph, gate timeline, optional replay."""
    try:
        view = decision_view(
            state.store, ident, state.clock(), _candidate(state) if replay else None
        )
    except DecisionNotFound as exc:
        return _missing(session, exc, 404)
    except AmbiguousDecisionId as exc:
        return _missing(session, exc, 400)
    return _html(render_page("decision.html", session=session, v=view))


@ui_router.get("/incidents/{incident_id}")
def incident(
    incident_id: str,
    state: State,
    session: Reading,
    before: Annotated[int, Query(ge=0, le=MAX_BEFORE_HOURS)] = 0,
    backtest: Annotated[bool, Query(description="Backtest the window.")] = False,
) -> HTMLResponse:
    """An incident: linked decisions and scorecard for its window; the backtest on request."""
    spec = _spec(state) if backtest else None
    try:
        view = incident_view(state.store, incident_id, spec, before=timedelta(hours=before))
    except DecisionNotFound as exc:
        return _missing(session, exc, 404)
    return _html(render_page("incident.html", session=session, v=view, before=before))


@ui_router.get("/actors/{actor:path}")
def actor(actor: str, state: State, session: Reading) -> HTMLResponse:
    """An actor: kind, registry entry, elevations, freezes, budgets, recent decisions."""
    view = actor_view(state.store, actor, state.setup, state.clock())
    return _html(render_page("actor.html", session=session, v=view))
