"""The web view in a real browser: Playwright driving Debian's Chromium against a real service.

One service and one browser for the module (CI time). Skipped, with the
reason, where the `playwright` package or a Chromium cannot be found: no
browser is ever downloaded; `.ci/run` installs Debian's `chromium`.
Screenshots of the four pages at 1280×800 go to a temporary folder, or to
$COMMANDER_UI_SCREENSHOTS (`docs/ui` regenerates the README's).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service_support import token_of
from tests.ui_support import INCIDENT, SECRET, Story, noop_plan, story

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")

CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("COMMANDER_CHROMIUM"),
            shutil.which("chromium"),
            "/usr/bin/chromium",
        )
        if p and Path(p).exists()
    ),
    None,
)
if CHROMIUM is None:
    pytest.skip(
        "no Chromium (Debian package chromium; .ci/run installs it)", allow_module_level=True
    )
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    folder = tmp_path_factory.mktemp("ui-browser")
    with story(f"sqlite:///{folder / 'audit.db'}", folder) as running:
        for n, (actor, name) in enumerate(
            [("deploy-bot", "web.json"), ("alice", "dns.json"), ("deploy-bot", "cache.json")]
        ):
            body = noop_plan().replace(b"logs", f"logs{n}".encode())
            running.service.submit(body, actor=actor, source="automation", name=name)
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as driver:
        try:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except sync_api.Error as exc:
            pytest.skip(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("COMMANDER_UI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(chromium: Any, told: Story) -> Iterator[Any]:
    """A fresh browser context (no cookies) with one page."""
    context = chromium.new_context(viewport=VIEWPORT, base_url=told.service.url)
    yield context.new_page()
    context.close()


def log_in(page: Any, name: str = "alice") -> None:
    """Fill in the login form as a person would."""
    page.goto("/ui/login")
    page.fill("input[name=token]", token_of(name))
    page.click("button[type=submit]")
    page.wait_for_selector("#decisions")


def test_log_in_filter_open_a_decision_follow_the_timeline(
    page: Any, told: Story, shots: Path
) -> None:
    """The post-incident walk: log in, filter, open the dissenting decision, its graph, the
    timeline, then the incident and the actor."""
    log_in(page)
    assert page.locator("tr.decision-row").count() == 6
    page.screenshot(path=str(shots / "decisions.png"))
    page.select_option("select[name=outcome]", "escalate")
    page.fill("input[name=resource]", "aws_iam_*")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**outcome=escalate**")
    rows = page.locator("tr.decision-row")
    assert rows.count() == 1
    assert "alice (senior-engineer)" in rows.first.inner_text()

    rows.first.locator("a").first.click()
    page.wait_for_selector("#verdicts")
    assert "Minority opinion" in page.locator("#minority").inner_text()
    first = page.locator("#verdicts tbody tr").first
    assert "reversibility" in first.inner_text()
    assert "minority" in (first.get_attribute("class") or "")
    assert page.locator("#graph svg").is_visible()
    assert page.locator("#graph svg text", has_text="aws_iam_policy").count() >= 1
    steps = page.locator("#timeline li").all_inner_texts()
    kinds = [s.split("UTC", 1)[1].split()[0] for s in steps]
    assert kinds[:3] == ["submitted", "decided", "escalated"]
    assert kinds.count("signed") == 2
    assert "as security" in steps[kinds.index("signed") + 1]
    page.screenshot(path=str(shots / "decision.png"))

    page.click("#replay-button")
    page.wait_for_selector("#replay")
    assert page.locator("#replay").inner_text().count("escalate") == 2

    page.click(f"#gate a:has-text('{INCIDENT}')")
    page.wait_for_selector("#scorecard")
    assert told.iam[:12] in page.locator("#incident-timeline").inner_text()
    assert page.locator("#scorecard tbody tr").count() == 5
    page.click("#backtest-button")
    page.wait_for_selector("#backtest-summary")
    assert "replayed" in page.locator("#backtest-summary").inner_text()
    page.screenshot(path=str(shots / "incident.png"))

    page.click("#incident-timeline a:has-text('agent-7')")
    page.wait_for_selector("#registry")
    assert "ai-agent" in page.locator("#registry").inner_text()
    assert page.locator("#recent tbody tr").count() == 1
    page.screenshot(path=str(shots / "actor.png"))


def test_no_page_without_a_session(page: Any, told: Story) -> None:
    """Straight to a decision without logging in: the login page, which then leads back there."""
    page.goto(f"/ui/decisions/{told.iam}")
    assert "/ui/login" in page.url
    assert page.locator("#verdicts").count() == 0
    page.fill("input[name=token]", token_of("bob"))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdicts")
    assert page.url.endswith(f"/ui/decisions/{told.iam}")


def test_the_session_cookie_flags(page: Any) -> None:
    """HttpOnly (no script sees it), SameSite=Strict, an expiry hours ahead, for /ui only."""
    log_in(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "commander_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert time.time() + 3600 < cookie["expires"] < time.time() + 9 * 3600
    assert "commander_session" not in page.evaluate("document.cookie")


def test_a_login_with_a_forged_csrf_value_fails(page: Any) -> None:
    """A login form whose CSRF value is not the cookie's is refused: 403, no session."""
    page.goto("/ui/login")
    page.eval_on_selector("input[name=csrf]", "e => e.value = 'forged'")
    page.fill("input[name=token]", token_of("alice"))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[type=submit]")
    assert posted.value.status == 403
    assert "another site" in page.locator("#login-error").inner_text()
    assert not [c for c in page.context.cookies() if c["name"] == "commander_session"]


def test_a_masked_secret_is_never_in_the_html(page: Any, told: Story) -> None:
    """The database password of a plan: masked before storage, absent from every page's DOM."""
    log_in(page)
    for url in (f"/ui/decisions/{told.secret}", "/ui/actors/dba-bot", "/ui/?source=automation"):
        page.goto(url)
        assert SECRET not in page.content(), url
    page.goto(f"/ui/decisions/{told.secret}")
    assert "aws_db_instance.orders" in page.content()
