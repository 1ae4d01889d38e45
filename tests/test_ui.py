"""The web view over HTTP: sessions, the login form's CSRF check, and what each page shows.

A real service on a loopback port (tests/ui_support.py), SQLite. The browser
tests (test_ui_browser.py) walk the same pages in Chromium.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from orchestrator.service.ui.routes import ui_router
from orchestrator.service.ui.sessions import SessionStore
from tests.databases import PG_SKIP, PG_URL, fresh_database
from tests.service_support import IAM_PLAN, running_service, token_of
from tests.ui_support import INCIDENT, SECRET, Story, log_in, story


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    folder = tmp_path_factory.mktemp("ui")
    with story(f"sqlite:///{folder / 'audit.db'}", folder) as running:
        yield running


@pytest.fixture
def browser(told: Story) -> Iterator[httpx.Client]:
    """A fresh cookie jar, logged in as alice."""
    with httpx.Client(base_url=told.service.url, timeout=60) as client:
        assert log_in(client).status_code == 303
        yield client


def pages(told: Story) -> list[str]:
    """One URL of every page behind the login."""
    return [
        "/ui/",
        f"/ui/decisions/{told.iam}",
        f"/ui/decisions/{told.iam}?replay=1",
        f"/ui/incidents/{INCIDENT}",
        "/ui/actors/agent-7",
    ]


def test_every_ui_route_is_covered_by_the_session_check(told: Story) -> None:
    """A new page cannot slip past the no-session test: every GET route is in pages()."""
    gets = {r.path for r in ui_router.routes if isinstance(r, APIRoute) and "GET" in r.methods}
    assert gets == {
        "/ui/login",
        "/ui/",
        "/ui/decisions/{ident}",
        "/ui/incidents/{incident_id}",
        "/ui/actors/{actor:path}",
    }


def test_no_page_without_a_session(told: Story) -> None:
    """Without a session every page sends the browser to the login page, naming where it was."""
    with httpx.Client(base_url=told.service.url) as anonymous:
        for url in pages(told):
            answer = anonymous.get(url)
            assert answer.status_code == 303, url
            assert answer.headers["location"].startswith("/ui/login?next=%2Fui%2F"), url
            assert "decision" not in answer.text
    with httpx.Client(base_url=told.service.url, cookies={"commander_session": "x"}) as forged:
        assert forged.get("/ui/").status_code == 303
    with httpx.Client(base_url=told.service.url) as anonymous:
        # a bearer token is not a session: the API's credentials do not open pages
        bearer = anonymous.get("/ui/", headers={"Authorization": f"Bearer {token_of('alice')}"})
        assert bearer.status_code == 303


def test_the_session_cookie_is_httponly_strict_and_expires(told: Story) -> None:
    """The cookie: opaque, HttpOnly, SameSite=Strict, an expiry, /ui only; not Secure on http."""
    with httpx.Client(base_url=told.service.url) as client:
        answer = log_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("commander_session=")
    )
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "max-age", "expires", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert "path=/ui" in cookie.lower()
    assert "secure" not in flags  # plain http on loopback; https adds it (below)
    assert token_of("alice") not in cookie


def test_cookies_are_secure_when_browsers_use_https(tmp_path: Path) -> None:
    """`serve --secure-cookies` (TLS proxy in front): session and CSRF cookies carry Secure."""
    with running_service(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, ui_secure_cookies=True) as s:
        form = s.client.get("/ui/login")
        assert "secure" in _flags(form.headers["set-cookie"])
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        # the client keeps Secure cookies for https only: send it back as a browser would
        answer = s.client.post(
            "/ui/login",
            data={"token": token_of("alice"), "csrf": csrf},
            headers={"Cookie": f"commander_csrf={csrf}"},
        )
    assert answer.status_code == 303
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("commander_session=")
    )
    assert {"secure", "httponly"} <= _flags(cookie)


def _flags(cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")}


def test_login_without_the_forms_csrf_value_is_refused(told: Story) -> None:
    """A login posted from elsewhere (no CSRF cookie, or a value that differs) opens no session."""
    with httpx.Client(base_url=told.service.url) as client:
        cross_site = client.post("/ui/login", data={"token": token_of("alice"), "csrf": "x"})
        assert cross_site.status_code == 403
        assert "another site" in cross_site.text
        client.get("/ui/login")
        wrong = client.post("/ui/login", data={"token": token_of("alice"), "csrf": "not-it"})
        assert wrong.status_code == 403
        for answer in (cross_site, wrong):
            assert "commander_session" not in answer.headers.get("set-cookie", "")
        assert client.get("/ui/").status_code == 303


def test_only_a_reader_token_logs_in(told: Story) -> None:
    """An unknown token and a metrics-only token are refused; no session is opened."""
    with httpx.Client(base_url=told.service.url) as client:
        for token, reason in (("cmdr_nope", "unknown token"), (token_of("scraper"), "may not")):
            client.get("/ui/login")
            csrf = client.cookies.get("commander_csrf", path="/ui/login")
            answer = client.post("/ui/login", data={"token": token, "csrf": csrf})
            assert answer.status_code == 401
            assert reason in answer.text
        assert client.get("/ui/").status_code == 303


def test_login_goes_back_only_to_a_page_of_the_view(told: Story) -> None:
    """`next` outside /ui (another host, a scheme) falls back to the list: no open redirect."""
    with httpx.Client(base_url=told.service.url) as client:
        for target in ("https://evil.example/", "//evil.example/ui/", "/ui//evil.example"):
            client.get("/ui/login")
            csrf = client.cookies.get("commander_csrf", path="/ui/login")
            form = {"token": token_of("alice"), "csrf": csrf, "next": target}
            assert client.post("/ui/login", data=form).headers["location"] == "/ui/"


def test_a_session_ends_at_its_expiry_and_at_logout(told: Story) -> None:
    """Past its expiry a cookie opens nothing; logging out ends the session at once."""
    now = [datetime(2026, 5, 1, 10, 0)]
    sessions = SessionStore(ttl=timedelta(hours=1), clock=lambda: now[0])
    cookie, _ = sessions.open("alice")
    assert sessions.get(cookie) is not None
    now[0] += timedelta(minutes=59)
    assert sessions.get(cookie) is not None
    now[0] += timedelta(minutes=1)
    assert sessions.get(cookie) is None
    with httpx.Client(base_url=told.service.url) as client:
        log_in(client)
        page = client.get("/ui/")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/ui/logout", data={"csrf": "wrong"}).status_code == 403
        assert client.get("/ui/").status_code == 200
        assert client.post("/ui/logout", data={"csrf": csrf}).status_code == 303
        assert client.get("/ui/").status_code == 303


def test_pages_forbid_scripts_framing_and_caching(browser: httpx.Client, told: Story) -> None:
    """Every page: a CSP with no script source, no framing, no cache; no <script> anywhere."""
    for url in pages(told):
        answer = browser.get(url)
        assert answer.status_code == 200, (url, answer.text[:500])
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["cache-control"] == "no-store"
        assert "<script" not in answer.text


def test_the_list_is_newest_first_and_filters(browser: httpx.Client, told: Story) -> None:
    """Newest first; each filter narrows; signers and dissent show on the row."""
    everything = browser.get("/ui/").text
    order = [everything.index(i) for i in (told.noop, told.secret, told.iam)]
    assert order == sorted(order)
    escalated = browser.get("/ui/", params={"outcome": "escalate", "gate_state": "pending"}).text
    assert told.iam in escalated
    assert told.noop not in escalated
    assert "alice (senior-engineer)" in escalated
    assert "bob (security)" in escalated
    assert "reversibility" in escalated  # the dissenting reviewer
    for params, shown, hidden in (
        ({"source": "automation"}, told.secret, told.iam),
        ({"actor": "alice"}, told.noop, told.secret),
        ({"resource": "aws_db_*"}, told.secret, told.noop),
        ({"dissenter": "reversibility"}, told.iam, told.noop),
        ({"tier": "critical"}, told.iam, told.noop),
        ({"environment": "staging"}, None, told.iam),
        ({"until": "2000-01-01"}, None, told.iam),
    ):
        text = browser.get("/ui/", params=params).text
        if shown:
            assert shown in text, params
        assert hidden not in text, params


def test_a_filter_that_does_not_read_is_named(browser: httpx.Client) -> None:
    """A bad time or value is one line naming the field (400), not an error page."""
    bad_time = browser.get("/ui/", params={"since": "yesterday-ish"})
    assert bad_time.status_code == 400
    assert "since: not a time" in bad_time.text
    bad_tier = browser.get("/ui/", params={"tier": "severe"})
    assert bad_tier.status_code == 400
    assert "tier:" in bad_tier.text
    bad_cursor = browser.get("/ui/", params={"after": "!!"})
    assert "after: not a page cursor" in bad_cursor.text


def test_the_list_pages_by_cursor(told: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page of two, the cursor link leads to the rest and nothing is shown twice."""
    monkeypatch.setattr("orchestrator.service.ui.listing.PAGE_SIZE", 2)
    with httpx.Client(base_url=told.service.url) as client:
        log_in(client)
        first = client.get("/ui/").text
        assert told.noop in first
        assert told.secret in first
        assert told.iam not in first
        link = first.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
        second = client.get(link).text
        assert told.iam in second
        assert told.noop not in second
        assert 'id="next-page"' not in second


def _text(html: str) -> str:
    """The page's text, tags removed and whitespace folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, ident: str) -> str:
    """The text of the element with this id, up to the next heading."""
    start = html.index(f'id="{ident}"')
    heading = html.find("</h2>", start, start + 200)  # the element's own heading, if any
    end = html.find("<h2", max(start, heading))
    return _text(html[start:end])


def test_a_decision_with_dissent_shows_the_minority_first(
    browser: httpx.Client, told: Story
) -> None:
    """The IAM change: reversibility approved against the majority; its verdict leads the table."""
    page = browser.get(f"/ui/decisions/{told.iam}").text
    assert "Minority opinion:" in page
    assert "reversibility (approve" in _section(page, "minority")
    rows = _section(page, "verdicts")
    assert rows.index("reversibility minority approve") < rows.index("blast-radius")
    assert "escalate" in _text(page)
    assert "agent-7" in _section(page, "proposal")


def test_a_decision_shows_the_graph_as_svg(browser: httpx.Client, told: Story) -> None:
    """The blast-radius graph is inline SVG naming the changed resource and a service it reaches."""
    page = browser.get(f"/ui/decisions/{told.iam}").text
    graph = page[page.index('id="graph"') :]
    svg = graph[graph.index("<svg") : graph.index("</svg>")]
    assert "aws_iam_policy" in svg
    assert "checkout" in svg or "needed by" in svg


def test_the_gate_timeline_follows_the_escalation(browser: httpx.Client, told: Story) -> None:
    """Submitted, decided, escalated, each signature with role and time, then the expiry ahead."""
    steps = _section(browser.get(f"/ui/decisions/{told.iam}").text, "timeline")
    order = [
        steps.index("submitted · ci-bot"),
        steps.index("decided escalate"),
        steps.index("escalated"),
        steps.index("signed · alice"),
        steps.index("signed · bob"),
        steps.index("expires still needs"),
    ]
    assert order == sorted(order), steps
    assert "as senior-engineer checked" in steps
    assert "as security checked" in steps
    assert "still needs change-board" in steps
    assert "incident" in steps  # the link to INC-2041 is a chain event too


def test_denial_supersession_and_freeze_show_on_the_timeline(told: Story) -> None:
    """A denied escalation, one superseded by a new plan, a freeze of the actor while waiting."""
    service = told.service
    agent = {"actor": "agent-9", "source": "ai-agent", "name": "plan.json", "change_id": "pr-9"}
    first = service.submit(IAM_PLAN.read_bytes(), **agent).json()["decision_id"]
    changed = IAM_PLAN.read_bytes().replace(b"boundary", b"boundary2")
    second = service.submit(changed, **agent).json()["decision_id"]
    denied = service.client.post(
        f"/v1/escalations/{second}/deny", json={"reason": "not now"}, headers=service.as_("bob")
    )
    assert denied.status_code == 200, denied.text
    third = service.submit(IAM_PLAN.read_bytes(), **{**agent, "change_id": "pr-10"}).json()
    froze = service.client.post(
        "/v1/freezes", json={"actor": "agent-9", "reason": "runaway"}, headers=service.as_("root")
    )
    assert froze.status_code in (200, 201), froze.text
    with httpx.Client(base_url=service.url) as client:
        log_in(client)
        assert "superseded" in _section(client.get(f"/ui/decisions/{first}").text, "timeline")
        assert "denied · bob not now" in _section(
            client.get(f"/ui/decisions/{second}").text, "timeline"
        )
        frozen = _section(client.get(f"/ui/decisions/{third['decision_id']}").text, "timeline")
        assert "freeze · root agent-9: runaway" in frozen
        assert "cancelled" in frozen
        thawed = service.client.delete("/v1/freezes/agent-9", headers=service.as_("root"))
        assert thawed.status_code == 200, thawed.text


def test_the_replay_is_shown_beside_the_record(browser: httpx.Client, told: Story) -> None:
    """The replay button re-judges under the policy in force: unchanged, side by side."""
    page = browser.get(f"/ui/decisions/{told.iam}").text
    assert 'id="replay-button"' in page
    replayed = browser.get(f"/ui/decisions/{told.iam}?replay=1").text
    side = _section(replayed, "replay")
    assert "Recorded" in side
    assert "Today" in side
    assert side.count("escalate") == 2
    assert "flipped" not in side


def test_an_unknown_decision_is_a_404_page(browser: httpx.Client) -> None:
    """A missing or ambiguous id is an HTML page with the reason, not JSON."""
    missing = browser.get("/ui/decisions/0000000000-no-such")
    assert missing.status_code == 404
    assert "no decision" in missing.text
    assert missing.headers["content-type"].startswith("text/html")


def test_a_masked_secret_is_in_no_page(browser: httpx.Client, told: Story) -> None:
    """The password in a plan never reaches HTML: list, decision, replay, actor, incident."""
    urls = [
        *pages(told),
        f"/ui/decisions/{told.secret}",
        f"/ui/decisions/{told.secret}?replay=1",
        "/ui/actors/dba-bot",
        "/ui/?resource=aws_db_*",
    ]
    for url in urls:
        answer = browser.get(url)
        assert answer.status_code == 200, url
        assert SECRET not in answer.text, url
    assert "aws_db_instance.orders" in browser.get(f"/ui/decisions/{told.secret}").text


def test_the_incident_page(browser: httpx.Client, told: Story) -> None:
    """Linked decision on the timeline, scorecard for the window, backtest under today's policy."""
    page = browser.get(f"/ui/incidents/{INCIDENT}").text
    assert told.iam[:12] in _section(page, "incident-timeline")
    assert "lost admin" in _section(page, "incident-timeline")
    scores = _section(page, "scorecard")
    # the window holds the IAM decision alone: every reviewer judged it once, and it was caused
    assert "reversibility 1 0 0 1" in scores  # approved it: a miss
    assert "blast-radius 1 1 1 0" in scores  # flagged it: caught
    assert 'id="backtest-button"' in page
    backtested = browser.get(f"/ui/incidents/{INCIDENT}", params={"backtest": 1}).text
    assert "1 decisions replayed; 0 would flip" in _section(backtested, "backtest-summary")
    assert "<svg" in page[page.index("Blast radius of each") :]
    wider = browser.get(f"/ui/incidents/{INCIDENT}", params={"before": 24})
    assert "from 24 h before" in wider.text
    assert browser.get("/ui/incidents/INC-none").status_code == 404
    assert browser.get(f"/ui/incidents/{INCIDENT}", params={"before": 9999}).status_code == 422


def test_the_actor_page(browser: httpx.Client, told: Story) -> None:
    """Kind, registry entry, freezes, budgets, elevations and the actor's recent decisions."""
    page = browser.get("/ui/actors/agent-7").text
    registry = _section(page, "registry")
    assert "ai-agent" in registry
    assert "judged as an unknown actor" in registry
    assert told.iam[:12] in _section(page, "recent")
    assert told.noop[:12] not in _section(page, "recent")
    assert "Not frozen" in page
    human = browser.get("/ui/actors/alice").text
    assert told.noop[:12] in _section(human, "recent")


def test_report_writes_the_incident_page_as_one_file(
    told: Story, run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`commander report --incident ID --html FILE`: inline CSS and SVG, no link to a server."""
    cli_env["COMMANDER_DATABASE_URL"] = told.service.state.options.settings.database_url
    target = tmp_path / "inc.html"
    done = run_cli("report", "--incident", INCIDENT, "--html", str(target))
    assert done.code == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    page = target.read_text(encoding="utf-8")
    assert "<style>" in page
    assert "<svg" in page
    assert 'href="/' not in page
    assert 'src="' not in page
    assert "<form" not in page
    assert told.iam[:12] in page
    assert SECRET not in page
    missing = run_cli("report", "--incident", "INC-none", "--html", str(tmp_path / "x.html"))
    assert missing.code != 0
    assert "no incident 'INC-none'" in missing.stderr
    assert not (tmp_path / "x.html").exists()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason=PG_SKIP)
def test_every_page_renders_on_postgresql(tmp_path: Path) -> None:
    """The same story on PostgreSQL: every page answers, the filters and timeline read alike."""
    with (
        fresh_database("postgresql", tmp_path) as url,
        story(url, tmp_path) as told,
        httpx.Client(base_url=told.service.url, timeout=60) as client,
    ):
        log_in(client)
        for page in [*pages(told), f"/ui/decisions/{told.secret}"]:
            answer = client.get(page)
            assert answer.status_code == 200, (page, answer.text[:300])
            assert SECRET not in answer.text
        pending = client.get("/ui/", params={"gate_state": "pending"}).text
        assert told.iam in pending
        assert told.noop not in pending
        steps = _section(client.get(f"/ui/decisions/{told.iam}").text, "timeline")
        assert "signed · alice" in steps
        assert "signed · bob" in steps


@pytest.mark.parametrize("graphviz", [True, False], ids=["graphviz", "plain"])
def test_graph_labels_are_escaped_in_either_drawing(
    graphviz: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address holding markup is drawn as text, by Graphviz and by the plain drawing alike."""
    from orchestrator.service.ui import graph
    from tests.audit_factories import make

    if graphviz and shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed (Debian package graphviz)")
    if not graphviz:
        monkeypatch.setattr(graph.shutil, "which", lambda _: None)
    monkeypatch.setattr(graph, "_drawings", {})
    proposal, decision = make("markup", addresses=['aws_s3_bucket.x["<img src=x>"]'])
    svg = str(graph.graph_svg(decision, proposal))
    assert svg.startswith("<svg")
    assert "<img" not in svg
    assert "&lt;img src=x&gt;" in svg
    assert ("plain-graph" in svg) is not graphviz


def test_findings_are_grouped_by_reviewer_with_where_they_are_written(
    browser: httpx.Client, told: Story
) -> None:
    """Each reviewer with findings has its table; a finding names its rule and its place."""
    found = _section(browser.get(f"/ui/decisions/{told.iam}").text, "findings")
    for reviewer in ("blast-radius", "scope", "contrarian"):
        assert f"{reviewer} Rule Severity" in found, found[:400]
    assert "aws_iam_policy" in found
    assert "plan.json" in found  # the plan itself when no line is known, as SARIF places it
