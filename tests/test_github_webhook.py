"""Sign-off from pull-request comments, end to end: a signed GitHub delivery over a real socket,
the gate's own approve/deny, and the reply posted to a loopback fake GitHub API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.service.comment_commands import Approve, Deny, Unclear, parse_comment
from orchestrator.service.integrations import github_signature_ok
from orchestrator.store import Store
from orchestrator.store.audit_verify import verify_audit
from tests.databases import run_sql
from tests.github_support import (
    AGENT,
    CHANGE_ID,
    GITHUB_TOKEN,
    REPLIES,
    SECRET,
    GitHubRig,
    comment_event,
    deployment_event,
)
from tests.platform_fakes import github_signature
from tests.service_support import IAM_PLAN, running_service


def escalate(rig: GitHubRig) -> str:
    """Submit the IAM plan for the pull request's change: escalated, three roles."""
    response = rig.service.submit(IAM_PLAN.read_bytes(), **AGENT)
    assert response.json()["outcome"] == "escalate"
    return str(response.json()["decision_id"])


def replies(rig: GitHubRig) -> list[str]:
    return [s.body["body"] for s in rig.github.requests("POST", REPLIES)]


def approvals(db_url: str) -> list[tuple[str, str]]:
    rows = run_sql(db_url, "SELECT name, role FROM escalation_approvals ORDER BY name")
    return [(r[0], r[1]) for r in rows]


def test_comments_sign_the_escalation_and_reply_on_the_pull_request(
    rig: GitHubRig, db_url: str
) -> None:
    """Three logins sign their roles by comment; each gets a reply; the chain verifies."""
    decision_id = escalate(rig)
    first = rig.deliver(
        "issue_comment", comment_event("/commander approve --role security  policy ok", "alice-gh")
    )
    assert first.status_code == 200, first.text
    assert first.json()["decision_id"] == decision_id
    assert "still missing: senior-engineer, change-board" in replies(rig)[0]
    rig.deliver(
        "issue_comment", comment_event("/commander approve --role change-board", "carol-gh")
    )
    # logins are case-insensitive on GitHub
    done = rig.deliver(
        "issue_comment", comment_event("/commander approve --role security", "Bob-GH")
    )
    assert "refused" in done.json()["reply"]  # security is signed already
    assert approvals(db_url) == [("alice", "security"), ("carol", "change-board")]
    comment = run_sql(db_url, "SELECT comment FROM escalation_approvals WHERE name = 'alice'")
    assert comment[0][0].startswith("policy ok (GitHub: https://github.com/acme/infra/pull/7#")
    sent = rig.github.requests("POST", REPLIES)[0]
    assert sent.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert sent.body["body"].startswith("**commander**: @alice-gh (alice) signed")
    with Store.open(db_url) as store:
        assert verify_audit(store).ok


def test_a_project_s_change_is_signed_with_project(rig: GitHubRig, db_url: str) -> None:
    """Atlantis submits OWNER/REPO#N:PROJECT per project; --project signs that one."""
    rig.service.submit(IAM_PLAN.read_bytes(), **(AGENT | {"change_id": f"{CHANGE_ID}:network"}))
    plain = rig.deliver(
        "issue_comment", comment_event("/commander approve --role security", "bob-gh")
    )
    assert "--project NAME" in plain.json()["reply"]
    body = "/commander approve --role security --project network"
    signed = rig.deliver("issue_comment", comment_event(body, "bob-gh"))
    assert "signed" in signed.json()["reply"]
    assert approvals(db_url) == [("bob", "security")]


def test_a_deny_comment_ends_the_escalation(rig: GitHubRig) -> None:
    """`/commander deny reason: …` denies as the login's principal, with the reason recorded."""
    decision_id = escalate(rig)
    answer = rig.deliver(
        "issue_comment", comment_event("/commander deny reason: not in the freeze window", "bob-gh")
    )
    assert answer.status_code == 200
    shown = rig.service.client.get(
        f"/v1/escalations/{decision_id}", headers=rig.service.as_("alice")
    ).json()
    assert shown["status"] == "denied"
    assert shown["denial"] == shown["denial"] | {
        "name": "bob",
        "reason": "not in the freeze window",
    }
    assert "denied" in replies(rig)[0]


@pytest.mark.parametrize(
    ("body", "login", "reply_says"),
    [
        ("/commander approve --role security", "mallory", "is not an approver"),
        ("/commander approve --role security", "root-gh", "is not an approver"),  # admin only
        ("/commander approve --role change-board", "bob-gh", "may not sign as 'change-board'"),
        ("/commander approve", "alice-gh", "names its role"),
        ("/commander deny", "alice-gh", "needs a reason"),
        ("/commander merge please", "alice-gh", "unknown command 'merge'"),
    ],
)
def test_comments_that_cannot_sign_are_answered_and_record_nothing(
    rig: GitHubRig, db_url: str, body: str, login: str, reply_says: str
) -> None:
    """Unknown logins, roles the tokens file does not list and malformed commands sign nothing."""
    escalate(rig)
    answer = rig.deliver("issue_comment", comment_event(body, login))
    assert answer.status_code == 200
    assert reply_says in answer.json()["reply"]
    assert reply_says in replies(rig)[0]
    assert approvals(db_url) == []


def test_nobody_approves_their_own_change_by_login(rig: GitHubRig, db_url: str) -> None:
    """The PR's author, and the actor or submitter by GitHub login, are refused by comment."""
    rig.service.submit(IAM_PLAN.read_bytes(), **(AGENT | {"actor": "Carol-GH"}))
    own_pr = comment_event("/commander approve --role security", "alice-gh")
    own_pr["issue"]["user"]["login"] = "alice-gh"
    assert (
        "nobody approves their own change" in rig.deliver("issue_comment", own_pr).json()["reply"]
    )
    pushed = comment_event("/commander approve --role change-board", "carol-gh")
    assert (
        "nobody approves their own change" in rig.deliver("issue_comment", pushed).json()["reply"]
    )
    assert approvals(db_url) == []


def test_nobody_approves_their_own_change_through_the_api_either(rig: GitHubRig) -> None:
    """A token whose principal's login is the change's actor is refused (409)."""
    ident = rig.service.submit(IAM_PLAN.read_bytes(), **(AGENT | {"actor": "alice-gh"})).json()[
        "decision_id"
    ]
    refused = rig.service.client.post(
        f"/v1/escalations/{ident}/approve",
        json={"role": "security"},
        headers=rig.service.as_("alice"),
    )
    assert refused.status_code == 409
    assert "as alice-gh on GitHub" in refused.json()["error"]


def test_bad_or_missing_signatures_are_401_and_nothing_is_recorded(
    rig: GitHubRig, db_url: str
) -> None:
    """A wrong secret, no signature or a body changed after signing: 401, no row, no reply."""
    escalate(rig)
    event = comment_event("/commander approve --role security", "alice-gh")
    raw = json.dumps(event).encode()
    assert rig.deliver("issue_comment", event, secret="not-the-secret").status_code == 401
    assert rig.deliver("issue_comment", event, secret=None).status_code == 401
    tampered = raw.replace(b"security", b"change-board")
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": _signature(raw),
    }
    response = rig.service.client.post("/v1/github/webhook", content=tampered, headers=headers)
    assert response.status_code == 401
    assert approvals(db_url) == []
    assert run_sql(db_url, "SELECT count(*) FROM platform_deliveries")[0][0] == 0
    assert rig.github.requests() == []
    metrics = rig.service.client.get("/metrics", headers=rig.service.as_("scraper")).text
    unsigned = 'event="issue_comment",platform="github",result="unsigned"'
    assert f"commander_platform_deliveries_total{{{unsigned}}} 3.0" in metrics


def _signature(raw: bytes) -> str:
    return github_signature(SECRET, raw)


def test_a_replayed_delivery_acts_and_replies_once(rig: GitHubRig, db_url: str) -> None:
    """GitHub redelivering the same X-GitHub-Delivery signs once and replies once."""
    escalate(rig)
    event = comment_event("/commander approve --role security", "alice-gh")
    first = rig.deliver("issue_comment", event, delivery="delivery-42")
    again = rig.deliver("issue_comment", event, delivery="delivery-42")
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    assert again.json()["decision_id"] == first.json()["decision_id"]
    assert approvals(db_url) == [("alice", "security")]
    assert len(replies(rig)) == 1
    metrics = rig.service.client.get("/metrics", headers=rig.service.as_("scraper")).text
    for result, count in (("acted", 1), ("replayed", 1), ("unsigned", 0)):
        series = f'event="issue_comment",platform="github",result="{result}"'
        assert f"commander_platform_deliveries_total{{{series}}} {count}.0" in metrics


def test_a_reply_github_refused_is_sent_on_redelivery(rig: GitHubRig, db_url: str) -> None:
    """The signature stands when the reply fails; a redelivery sends the reply, signing nothing."""
    escalate(rig)
    rig.github.answer("POST", REPLIES, 502, {"message": "bad gateway"})
    event = comment_event("/commander approve --role security", "alice-gh")
    first = rig.deliver("issue_comment", event, delivery="delivery-7")
    assert first.json()["replied"] is False
    rig.github.answer("POST", REPLIES, 201, {})
    rig.deliver("issue_comment", event, delivery="delivery-7")
    assert len(replies(rig)) == 2  # the failed attempt and the one that went through
    assert replies(rig)[0] == replies(rig)[1]
    assert approvals(db_url) == [("alice", "security")]
    status = run_sql(db_url, "SELECT status FROM platform_deliveries")
    assert status[0][0] == "answered"


def test_events_that_sign_nothing_are_ignored(rig: GitHubRig, db_url: str) -> None:
    """Bots, edits, issues (not PRs) and plain talk: 202, no reply, nothing recorded."""
    escalate(rig)
    sign = "/commander approve --role security"
    bot = comment_event(sign, "alice-gh")
    bot["comment"]["user"]["type"] = "Bot"
    issue = comment_event(sign, "alice-gh")
    del issue["issue"]["pull_request"]
    for event in (
        bot,
        issue,
        comment_event(sign, "alice-gh", action="edited"),
        comment_event("looks good to me", "alice-gh"),
    ):
        assert rig.deliver("issue_comment", event).status_code == 202
    assert rig.deliver("push", {"ref": "refs/heads/main"}).status_code == 202
    assert rig.deliver("ping", {"zen": "Design for failure."}).json() == {"status": "pong"}
    assert approvals(db_url) == []
    assert rig.github.requests() == []


def test_without_a_secret_the_webhook_is_not_there(db_url: str, tmp_path: Path) -> None:
    """No COMMANDER_GITHUB_WEBHOOK_SECRET: 404, whatever the request carries."""
    with running_service(db_url, tmp_path) as service:
        response = service.client.post(
            "/v1/github/webhook", content=b"{}", headers={"X-GitHub-Event": "ping"}
        )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/commander approve --role security", Approve("security", "")),
        (
            "/commander approve --role=security ok\nchecked the IAM",
            Approve("security", "ok\nchecked the IAM"),
        ),
        ("LGTM\n  /commander approve --role senior-engineer\n", Approve("senior-engineer", "")),
        ("/commander deny reason: opens port 22", Deny("opens port 22")),
        ("/commander approve --project net --role=security ok", Approve("security", "ok", "net")),
        ("/commander deny --project net reason: no", Deny("no", "net")),
        ("/commander approve --role a --role b", Unclear("give --role and --project once each")),
        ("/commander deny Reason:\nsee the thread", Deny("see the thread")),
        (
            "/commander deny reason:",
            Unclear("a denial needs a reason: `/commander deny reason: WHY`"),
        ),
        ("/commander", Unclear("unknown command '(none)'")),
        ("/commanderx approve --role security", None),
        ("I will /commander approve --role security later", None),
        ("no command here", None),
    ],
)
def test_comment_commands(body: str, expected: object) -> None:
    """The first line starting with /commander is the command; other comments are talk."""
    assert parse_comment(body) == expected


def test_signature_check_is_github_s_scheme() -> None:
    """sha256= plus the HMAC-SHA256 hex of the body under the secret; anything else fails."""
    body = b'{"zen":"Keep it logically awesome."}'
    good = _signature(body)
    assert github_signature_ok(SECRET, body, good)
    assert github_signature_ok(SECRET, body, good.upper().replace("SHA256=", "sha256="))
    assert not github_signature_ok(SECRET, body, good.removeprefix("sha256="))
    assert not github_signature_ok(SECRET, body, "sha1=" + good[7:])
    assert not github_signature_ok(SECRET, body + b" ", good)
    assert not github_signature_ok(SECRET, body, None)


def test_signed_events_missing_their_parts_are_ignored_not_errors(rig: GitHubRig) -> None:
    """A signed payload without the fields a sign-off needs is 202, never a 500."""
    escalate(rig)
    no_number = comment_event("/commander approve --role security", "alice-gh")
    del no_number["issue"]["number"]
    no_repo = comment_event("/commander approve --role security", "alice-gh")
    del no_repo["repository"]
    for event in (no_number, no_repo):
        assert rig.deliver("issue_comment", event).status_code == 202
    assert rig.deliver("issue_comment", {}, body=b"[1, 2]").status_code == 400
    assert rig.github.requests() == []
    deployment = deployment_event(rig.github.url) | {"pull_requests": [{"id": 1}, "x"]}
    del deployment["sha"], deployment["deployment"]
    answer = rig.deliver("deployment_protection_rule", deployment)
    assert answer.status_code == 200  # nothing to find the decision by: rejected, fail closed
    assert answer.json()["state"] == "rejected"
