"""The tamper matrix: an attacker with write access to the database, on SQLite and PostgreSQL.

Each case rewrites a copy of one populated store (tests/tamper_support.py)
and `audit verify` must find it:

* gate rows and raw inputs edited, added or deleted with SQL: found by the
  chain alone, which names the table (and the column) that disagrees;
* the chain itself truncated, rewritten or added to with every digest and
  hash recomputed: invisible to the chain alone (each case checks that
  first), found by a signed checkpoint taken after the rows it touched, or,
  with no checkpoint, by the chain key's HMACs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from orchestrator.store import Store
from orchestrator.store.audit_verify import verify_audit
from tests.databases import DIALECTS, fresh_database
from tests.tamper_support import (
    CHAIN_KEY,
    Link,
    Scenario,
    build,
    copy_of,
    erase_decision,
    query,
    rewrite_chain,
)

LATER = "2026-05-02 10:00:00.000000"
FAR = "2099-01-01 00:00:00.000000"


@pytest.fixture(scope="module", params=DIALECTS)
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    """One populated, keyed store per database, built by the CLI; never attacked itself."""
    folder = tmp_path_factory.mktemp(f"scenario-{request.param}")
    with fresh_database(request.param, folder) as url:
        yield build(request.param, url, folder)


@pytest.fixture(scope="module")
def anchors(scenario: Scenario) -> list[Any]:
    """A checkpoint of the scenario's head, signed with a key the store never sees."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from orchestrator.store.checkpoints import sign_head, trusted_anchors

    key = Ed25519PrivateKey.generate()
    with Store.open(scenario.url) as store:
        signed = sign_head(store, key, __import__("datetime").datetime(2026, 5, 1, 12, 0))
    return trusted_anchors([("head.json", signed)], key.public_key())


@pytest.fixture
def attacked(scenario: Scenario, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the scenario's store."""
    with copy_of(scenario, tmp_path) as url:
        yield url


# --- gate rows and raw inputs: the chain alone finds them -------------------------------------

# (id, statement, the table the report names, the column it names or None for a whole row)
SQL_CASES: list[tuple[str, str, str, str | None]] = [
    ("escalation-approved-by-sql",
     "UPDATE escalations SET status = 'approved-by-humans', closed_by = 'mallory', "
     "closed_at = :later WHERE decision_id = :pending", "escalations", "status"),
    ("denial-undone",
     "UPDATE escalations SET status = 'pending', closed_at = NULL, closed_by = NULL, reason = NULL "
     "WHERE decision_id = :denied", "escalations", "status"),
    ("superseded-plan-revived",
     "UPDATE escalations SET status = 'pending', closed_at = NULL, reason = NULL "
     "WHERE decision_id = :superseded", "escalations", "status"),
    ("required-roles-emptied",
     "UPDATE escalations SET required_roles = '[]' WHERE decision_id = :pending",
     "escalations", "required_roles"),
    ("required-role-dropped",
     "UPDATE escalations SET required_roles = '[\"senior-engineer\"]' WHERE decision_id = :pending",
     "escalations", "required_roles"),
    ("expiry-extended",
     "UPDATE escalations SET expires_at = :far WHERE decision_id = :pending",
     "escalations", "expires_at"),
    ("submitter-renamed-to-sign",
     "UPDATE escalations SET submitter = 'nobody' WHERE decision_id = :pending",
     "escalations", "submitter"),
    ("actor-renamed-to-self-approve",
     "UPDATE escalations SET actor = 'someone-else' WHERE decision_id = :pending",
     "escalations", "actor"),
    ("ai-agent-passed-off-as-human",
     "UPDATE escalations SET source = 'human' WHERE decision_id = :pending",
     "escalations", "source"),
    ("escalation-moved-to-another-change",
     "UPDATE escalations SET change_id = 'chg-elsewhere' WHERE decision_id = :pending",
     "escalations", "change_id"),
    ("escalation-deleted",
     "DELETE FROM escalation_approvals WHERE decision_id = :pending; "
     "DELETE FROM escalations WHERE decision_id = :pending", "escalations", None),
    ("escalation-planted-for-a-decision-without-one",
     "INSERT INTO escalations (decision_id, change_id, proposal_digest, actor, source, submitter, "
     "risk_tier, required_roles, status, created_at, expires_at, closed_at, closed_by) VALUES "
     "(:docs, 'chg-docs', :docs_digest, 'docs-bot', 'human', NULL, 'critical', '[]', "
     "'approved-by-humans', :later, :far, :later, 'mallory')", "escalations", None),
    ("signer-renamed",
     "UPDATE escalation_approvals SET name = 'Mallory', name_key = 'mallory' "
     "WHERE decision_id = :approved AND role = 'security'", "escalation_approvals", "name"),
    ("signature-forged",
     "INSERT INTO escalation_approvals (decision_id, role, name, name_key, comment, created_at) "
     "VALUES (:pending, 'security', 'mallory', 'mallory', 'lgtm', :later)",
     "escalation_approvals", None),
    ("signature-deleted",
     "DELETE FROM escalation_approvals WHERE decision_id = :approved AND role = 'change-board'",
     "escalation_approvals", None),
    ("signature-moved-to-another-role",
     "UPDATE escalation_approvals SET role = 'security' WHERE decision_id = :pending",
     "escalation_approvals", None),
    ("signature-comment-rewritten",
     "UPDATE escalation_approvals SET comment = 'did not look' WHERE decision_id = :approved",
     "escalation_approvals", "comment"),
    ("freeze-lifted-silently",
     "DELETE FROM freezes WHERE target = 'rogue-bot'", "freezes", None),
    ("freeze-planted",
     "INSERT INTO freezes (target, frozen_by, reason, frozen_at) "
     "VALUES ('docs-bot', 'mallory', 'spite', :later)", "freezes", None),
    ("freeze-blamed-on-someone-else",
     "UPDATE freezes SET frozen_by = 'bob' WHERE target = 'rogue-bot'", "freezes", "frozen_by"),
    ("elevation-extended",
     "UPDATE elevations SET until = :far WHERE elevation_id = :elevation", "elevations", "until"),
    ("revocation-undone",
     "UPDATE elevations SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL "
     "WHERE elevation_id = :other_elevation", "elevations", "revoked_at"),
    ("elevation-planted",
     "INSERT INTO elevations (elevation_id, actor, categories, environments, until, granted_by, "
     "reason, granted_at) VALUES ('elv-forged', 'rogue-bot', '[\"iam\"]', '[\"production\"]', "
     ":far, 'alice', 'forged', :later)", "elevations", None),
    ("elevation-categories-widened",
     "UPDATE elevations SET categories = '[\"iam\", \"network\"]' WHERE elevation_id = :elevation",
     "elevations", "categories"),
    ("elevation-environments-widened",
     "UPDATE elevations SET environments = '[\"staging\", \"production\"]' "
     "WHERE elevation_id = :elevation", "elevations", "environments"),
    ("elevation-given-to-another-actor",
     "UPDATE elevations SET actor = 'rogue-bot' WHERE elevation_id = :elevation",
     "elevations", "actor"),
    ("budget-use-deleted",
     "DELETE FROM budget_usage WHERE decision_id = :docs", "budget_usage", None),
    ("budget-use-lowered",
     "UPDATE budget_usage SET changed_resources = 0 WHERE decision_id = :docs",
     "budget_usage", "changed_resources"),
    ("budget-use-moved-out-of-its-window",
     "UPDATE budget_usage SET counted_at = '2000-01-01 00:00:00.000000' WHERE decision_id = :docs",
     "budget_usage", "counted_at"),
    ("budget-use-given-to-another-actor",
     "UPDATE budget_usage SET actor = 'nobody' WHERE decision_id = :approved",
     "budget_usage", "actor"),
    ("humans-approval-budget-use-deleted",
     "DELETE FROM budget_usage WHERE decision_id = :approved", "budget_usage", None),
    ("submission-deleted",
     "DELETE FROM change_submissions WHERE decision_id = :pending", "change_submissions", None),
    ("older-plan-made-latest",
     "UPDATE change_submissions SET created_at = :far WHERE decision_id = :superseded",
     "change_submissions", "created_at"),
    ("submission-moved-to-another-change",
     "UPDATE change_submissions SET change_id = 'chg-other' WHERE decision_id = :pending",
     "change_submissions", "change_id"),
    ("submission-digest-swapped",
     "UPDATE change_submissions SET proposal_digest = :docs_digest WHERE decision_id = :pending",
     "change_submissions", "proposal_digest"),
    ("submitter-erased",
     "UPDATE change_submissions SET submitter = NULL WHERE decision_id = :pending",
     "change_submissions", "submitter"),
    ("raw-input-nulled",
     "UPDATE proposals SET raw_zlib = NULL WHERE digest = :approved_digest",
     "proposals", "raw_zlib"),
    ("raw-input-swapped",
     "UPDATE proposals SET raw_zlib = (SELECT p.raw_zlib FROM proposals p WHERE p.digest = "
     ":docs_digest) WHERE digest = :approved_digest", "proposals", "raw_zlib"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("statement", "table", "column"), [pytest.param(*case[1:], id=case[0]) for case in SQL_CASES]
)
def test_gate_rows_and_raw_inputs_edited_with_sql_are_found(
    scenario: Scenario, attacked: str, statement: str, table: str, column: str | None
) -> None:
    """`audit verify`, with no checkpoint and no key, names the table (and column) rewritten."""
    params = scenario.ids | {"later": LATER, "far": FAR}
    for part in statement.split("; "):
        query(attacked, part, **{k: v for k, v in params.items() if f":{k}" in part})
    with Store.open(attacked) as store:
        report = verify_audit(store)
    assert not report.ok, f"not detected: {statement}"
    assert report.table == table, report.message
    if column is not None:
        assert report.column == column, report.message


# --- the chain itself rewritten, every hash recomputed -----------------------------------------


def truncate_last_decision(url: str, ids: dict[str, str]) -> None:
    """Drop the last decision and everything it wrote; move the head back."""

    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        erase_decision(conn, ids["docs"])
        conn.execute(sa.text("DELETE FROM proposals WHERE digest = :d"), {"d": ids["docs_digest"]})
        return [r for r in chain if r["ref_id"] != ids["docs"]]

    rewrite_chain(url, edit)


def rewrite_a_decision(url: str, ids: dict[str, str]) -> None:
    """Rewrite an old decision's rationale and recompute every later hash."""
    _edit_decision(url, ids["approved"], lambda doc: doc | {"rationale": ["nothing to see"]})


def rewrite_a_finding(url: str, ids: dict[str, str]) -> None:
    """Rewrite a finding in the decision JSON and in the findings table, recomputed."""

    def soften(doc: dict[str, Any]) -> dict[str, Any]:
        for verdict in doc["verdicts"]:
            if verdict["findings"]:
                verdict["findings"][0]["message"] = "harmless"
                return doc
        raise AssertionError("the scenario's decision has no finding")

    _edit_decision(url, ids["approved"], soften, findings=True)


def _edit_decision(
    url: str,
    ident: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    findings: bool = False,
) -> None:
    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        (text,) = conn.execute(
            sa.text("SELECT decision_json FROM decisions WHERE decision_id = :i"), {"i": ident}
        ).one()
        doc = change(json.loads(text))
        new = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        conn.execute(
            sa.text("UPDATE decisions SET decision_json = :j WHERE decision_id = :i"),
            {"j": new, "i": ident},
        )
        if findings:
            conn.execute(
                sa.text(
                    "UPDATE findings SET message = 'harmless' WHERE decision_id = :i "
                    "AND ordinal = 0 AND verdict_ordinal = "
                    "(SELECT min(verdict_ordinal) FROM findings WHERE decision_id = :i)"
                ),
                {"i": ident},
            )
        return chain

    rewrite_chain(url, edit)


def forge_a_signature_midway(url: str, ids: dict[str, str]) -> None:
    """Slip a signature (event and row) in before later links, shifting and recomputing them."""
    _forge_signature(url, ids, at_end=False)


def forge_a_signature_at_the_end(url: str, ids: dict[str, str]) -> None:
    """Append a signature (event and row) after the head with correct hashes."""
    _forge_signature(url, ids, at_end=True)


def _forge_signature(url: str, ids: dict[str, str], *, at_end: bool) -> None:
    ident = ids["pending"]

    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        first = next(
            r for r in chain if r["kind"] == "escalation.approval" and r["ref_id"] == ident
        )
        payload = dict(first["payload"]) | {"name": "mallory", "role": "security", "comment": ""}
        forged = {
            "kind": "escalation.approval",
            "ref_id": ident,
            "actor": "mallory",
            "payload": payload,
            "created_at": first["created_at"],
        }
        conn.execute(
            sa.text(
                "INSERT INTO escalation_approvals (decision_id, role, name, name_key, comment, "
                "created_at) VALUES (:i, 'security', 'mallory', 'mallory', '', :t)"
            ),
            {"i": ident, "t": first["created_at"]},
        )
        where = len(chain) if at_end else chain.index(first) + 1
        return [*chain[:where], forged, *chain[where:]]

    rewrite_chain(url, edit)


def remove_a_freeze(url: str, ids: dict[str, str]) -> None:
    """Lift a freeze by deleting its row and its event, recomputing every later hash."""

    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        conn.execute(sa.text("DELETE FROM freezes WHERE target = 'rogue-bot'"))
        return [
            r for r in chain if not (r["kind"] == "actor.freeze" and r["ref_id"] == "rogue-bot")
        ]

    rewrite_chain(url, edit)


def remove_an_incident(url: str, ids: dict[str, str]) -> None:
    """Clear a reviewer's record: delete an incident and its event, recompute."""

    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        conn.execute(sa.text("DELETE FROM incidents WHERE incident_id = 'INC-1'"))
        return [r for r in chain if r["kind"] != "incident.link"]

    rewrite_chain(url, edit)


def undo_a_denial(url: str, ids: dict[str, str]) -> None:
    """Make a denied escalation pending again: its row and its event, recomputed."""

    def edit(conn: sa.Connection, chain: list[Link]) -> list[Link]:
        conn.execute(
            sa.text(
                "UPDATE escalations SET status = 'pending', closed_at = NULL, closed_by = NULL, "
                "reason = NULL WHERE decision_id = :i"
            ),
            {"i": ids["denied"]},
        )
        return [r for r in chain if r["kind"] != "escalation.denied"]

    rewrite_chain(url, edit)


Rewrite = Callable[[str, dict[str, str]], None]
BEFORE_THE_CHECKPOINT: list[Any] = [
    pytest.param(truncate_last_decision, id="tail-truncated"),
    pytest.param(rewrite_a_decision, id="decision-rewritten-and-recomputed"),
    pytest.param(rewrite_a_finding, id="finding-rewritten-and-recomputed"),
    pytest.param(forge_a_signature_midway, id="signature-forged-midway-and-recomputed"),
    pytest.param(remove_a_freeze, id="freeze-and-its-event-removed"),
    pytest.param(remove_an_incident, id="incident-and-its-event-removed"),
    pytest.param(undo_a_denial, id="denial-and-its-event-removed"),
]


@pytest.mark.parametrize("rewrite", BEFORE_THE_CHECKPOINT)
def test_a_recomputed_chain_breaks_a_signed_checkpoint_taken_after_it(
    scenario: Scenario, attacked: str, anchors: list[Any], rewrite: Rewrite
) -> None:
    """Invisible to the chain alone; a checkpoint signed after the rows it touched finds it."""
    rewrite(attacked, scenario.ids)
    with Store.open(attacked) as store:
        alone = verify_audit(store)
        anchored = verify_audit(store, anchors=anchors)
    assert alone.ok, f"the attacker's recomputation should pass the chain alone: {alone.message}"
    assert not anchored.ok
    assert "checkpoint" in (anchored.problem or ""), anchored.message


@pytest.mark.parametrize(
    "rewrite",
    [*BEFORE_THE_CHECKPOINT, pytest.param(forge_a_signature_at_the_end, id="signature-appended")],
)
def test_a_recomputed_chain_is_found_by_the_chain_key_without_a_checkpoint(
    scenario: Scenario, attacked: str, rewrite: Rewrite
) -> None:
    """With the chain key, even a rewrite after the last checkpoint is found: no HMAC fits."""
    rewrite(attacked, scenario.ids)
    with Store.open(attacked, chain_key=bytes.fromhex(CHAIN_KEY)) as store:
        report = verify_audit(store)
    assert not report.ok
    assert "HMAC" in (report.problem or ""), report.message


def test_the_untouched_scenario_verifies_every_way(scenario: Scenario, anchors: list[Any]) -> None:
    """The control: the store the attacks start from verifies alone, anchored and keyed."""
    with Store.open(scenario.url) as store:
        assert verify_audit(store).ok
        assert verify_audit(store, anchors=anchors).ok
    with Store.open(scenario.url, chain_key=bytes.fromhex(CHAIN_KEY)) as store:
        keyed = verify_audit(store, anchors=anchors)
    assert keyed.ok, keyed.message
    assert (keyed.keyed, keyed.checkpoints) == (True, 1)
