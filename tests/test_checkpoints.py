"""Anchors outside the database: signed checkpoints and the chain key, from the CLI and the service.

Real processes for the CLI, a real service on a loopback port, real
Ed25519 keys (cryptography) and a real SQLite store.
"""

from __future__ import annotations

import json
import stat
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.store import Store
from orchestrator.store.checkpoints import public_key, read_checkpoints, trusted_anchors
from tests.audit_factories import record, run_sql
from tests.service_support import running_service

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "examples" / "iam-boundary" / "plan.json"


def review(run_cli: Any, intent: str) -> str:
    """Record one reviewed change (a change of its own); its decision id."""
    done = run_cli(
        "review", str(PLAN), "--intent", intent, "--change-id", intent, "--output", "json"
    )
    assert done.code == 3, done.stderr
    return str(json.loads(done.stdout)["decision_id"])


@pytest.fixture
def keys(run_cli: Any, tmp_path: Path) -> tuple[Path, Path]:
    """A signing key and its public key, made by `audit keygen`."""
    key = tmp_path / "keys" / "signing.key"
    key.parent.mkdir()
    made = run_cli("audit", "keygen", "--out", str(key))
    assert made.code == 0, made.stderr
    return key, key.with_name("signing.key.pub")


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
    run_cli: Any, keys: tuple[Path, Path]
) -> None:
    """The private key is 0600, the public key beside it; a second keygen refuses (exit 2)."""
    key, public = keys
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in key.read_text()
    assert "PUBLIC KEY" in public.read_text()
    again = run_cli("audit", "keygen", "--out", str(key))
    assert again.code == 2
    assert "already exists" in again.stderr


def test_checkpoints_to_stdout_a_file_and_a_folder_verify(
    run_cli: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """`audit checkpoint` signs the head wherever asked; `verify --checkpoints` proves each."""
    key, public = keys
    review(run_cli, "first")
    printed = run_cli("audit", "checkpoint", "--key", str(key))
    assert printed.code == 0, printed.stderr
    statement = json.loads(printed.stdout)
    assert (statement["schema"], statement["seq"]) == ("commander.checkpoint/v1", 2)
    single = tmp_path / "one.json"
    single.write_text(printed.stdout)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    review(run_cli, "second")
    written = run_cli("audit", "checkpoint", "--key", str(key), "--out", str(folder))
    assert written.code == 0, written.stderr
    review(run_cli, "third")

    for where in (single, folder):
        verified = run_cli(
            "audit", "verify", "--checkpoints", str(where), "--public-key", str(public)
        )
        assert verified.code == 0, verified.stdout + verified.stderr
        assert "extends 1 signed checkpoint(s)" in verified.stdout


def test_truncation_before_a_checkpoint_fails_verification_naming_it(
    run_cli: Any, keys: tuple[Path, Path], tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """Rows removed from the end and the head moved back: the chain no longer reaches it."""
    key, public = keys
    review(run_cli, "kept")
    review(run_cli, "removed")
    (tmp_path / "cp").mkdir()
    run_cli("audit", "checkpoint", "--key", str(key), "--out", str(tmp_path / "cp"))
    url = cli_env["COMMANDER_DATABASE_URL"]
    removed = run_sql(url, "SELECT ref_id FROM audit_chain WHERE seq = 3")[0][0]
    for table in ("change_submissions", "escalations", "decision_dissenters",
                  "decision_services", "decision_resources", "finding_resources", "findings",
                  "verdicts", "decisions"):  # fmt: skip
        run_sql(url, f"DELETE FROM {table} WHERE decision_id = :i", i=removed)  # noqa: S608
    run_sql(url, "DELETE FROM audit_chain WHERE seq > 2")
    run_sql(
        url, "UPDATE chain_head SET seq = 2, hash = (SELECT hash FROM audit_chain WHERE seq = 2)"
    )
    assert run_cli("audit", "verify").code == 0, "the chain alone cannot tell"

    anchored = run_cli(
        "audit", "verify", "--checkpoints", str(tmp_path / "cp"), "--public-key", str(public)
    )
    assert anchored.code == 1
    assert "chain broken at seq 3: chain ends at seq 2, before signed checkpoint" in anchored.stdout
    assert "rows were removed" in anchored.stdout


def test_a_checkpoint_altered_or_signed_by_another_key_is_refused(
    run_cli: Any, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """Only checkpoints the trusted key signed count: an edited or foreign one fails, named."""
    key, public = keys
    review(run_cli, "one")
    done = run_cli("audit", "checkpoint", "--key", str(key))
    altered = json.loads(done.stdout) | {"seq": 1}
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    other = tmp_path / "other.key"
    run_cli("audit", "keygen", "--out", str(other))
    foreign = run_cli("audit", "checkpoint", "--key", str(other))
    (tmp_path / "foreign.json").write_text(foreign.stdout)

    edited = run_cli(
        "audit", "verify", "--checkpoints", str(tmp_path / "altered.json"),
        "--public-key", str(public),
    )  # fmt: skip
    assert edited.code == 1
    assert "altered.json: signature does not verify" in edited.stderr
    stranger = run_cli(
        "audit", "verify", "--checkpoints", str(tmp_path / "foreign.json"),
        "--public-key", str(public),
    )  # fmt: skip
    assert stranger.code == 1
    assert "foreign.json: signed with key ed25519:" in stranger.stderr
    unkeyed = run_cli("audit", "verify", "--checkpoints", str(tmp_path / "altered.json"))
    assert unkeyed.code == 2
    assert "--public-key" in unkeyed.stderr


def test_an_empty_chain_has_nothing_to_checkpoint(run_cli: Any, keys: tuple[Path, Path]) -> None:
    """Signing an empty chain would prove nothing: one line, exit 1."""
    assert run_cli("migrate").code == 0  # an empty store: a missing one is "no store at"
    done = run_cli("audit", "checkpoint", "--key", str(keys[0]))
    assert done.code == 1
    assert "the audit chain is empty" in done.stderr


def test_keyed_chain_refuses_writers_without_the_key_or_with_another(
    run_cli: Any, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Once keyed, a write without the key or with another one is refused and nothing is written."""
    chain_key = tmp_path / "chain.key"
    assert run_cli("audit", "keygen", "--chain", "--out", str(chain_key)).code == 0
    assert stat.S_IMODE(chain_key.stat().st_mode) == 0o600
    cli_env["COMMANDER_CHAIN_KEY_FILE"] = str(chain_key)
    review(run_cli, "keyed")
    keyed = run_cli("audit", "verify")
    assert keyed.code == 0
    assert "every key-protected link checked" in keyed.stdout

    del cli_env["COMMANDER_CHAIN_KEY_FILE"]
    unkeyed = run_cli("review", str(PLAN), "--intent", "unkeyed")
    assert unkeyed.code == 1
    assert "the audit chain is keyed" in unkeyed.stderr
    assert "not checked without the chain key" in run_cli("audit", "verify").stdout
    cli_env["COMMANDER_CHAIN_KEY"] = "ab" * 32
    wrong = run_cli("freeze", "bot", "--as", "alice", "--reason", "x")
    assert wrong.code == 1
    assert "does not match the key this audit chain is keyed with" in wrong.stderr
    cli_env["COMMANDER_CHAIN_KEY"] = "too-short"
    assert run_cli("audit", "verify").code == 2
    url = cli_env["COMMANDER_DATABASE_URL"]
    assert run_sql(url, "SELECT count(*) FROM audit_chain") == [(2,)]


def test_a_chain_key_given_to_a_store_it_never_keyed_is_reported(tmp_path: Path) -> None:
    """Verifying with a key a store that holds no HMAC at all fails: they may have been stripped."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with Store.open(url) as store:
        record(store, "unkeyed")
    with Store.open(url, chain_key=b"k" * 32) as store:
        report = store.verify_chain()
    assert not report.ok
    assert "no row carries an HMAC" in (report.problem or "")


def test_the_service_serves_signed_checkpoints_and_writes_them_on_a_schedule(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    """GET /v1/audit/checkpoint answers a checkpoint the public key verifies; a schedule writes."""
    from orchestrator.store.checkpoints import signing_key

    key, public = keys
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    folder = tmp_path / "scheduled"
    folder.mkdir()
    signer = signing_key(key.read_text(), str(key))
    with running_service(url, tmp_path, checkpoint_key=signer) as service:
        assert (
            service.client.get("/v1/audit/checkpoint", headers=service.as_("scraper")).status_code
            == 409
        )
        service.submit(PLAN.read_bytes(), name="plan.json", actor="bot")
        answer = service.client.get("/v1/audit/checkpoint", headers=service.as_("scraper"))
        assert service.client.get("/v1/audit/checkpoint").status_code == 401
    assert answer.status_code == 200, answer.text
    (tmp_path / "served.json").write_text(answer.text)
    trusted = public_key(public.read_text(), str(public))
    (anchor,) = trusted_anchors(read_checkpoints(tmp_path / "served.json"), trusted)
    assert anchor.seq == 2

    with running_service(
        url, tmp_path, checkpoint_key=signer, checkpoint_dir=folder,
        checkpoint_every=timedelta(seconds=0.2),
    ) as service:  # fmt: skip
        deadline = time.monotonic() + 30
        while not list(folder.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.state.checkpoints is not None
        assert service.state.checkpoints.write_once() is None, "the head has not moved"
    (written,) = read_checkpoints(folder)
    assert written[1].seq == 2


def test_a_service_without_a_key_signs_nothing(tmp_path: Path) -> None:
    """No key, no checkpoints: 404, never an unsigned statement."""
    with running_service(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path) as service:
        answer = service.client.get("/v1/audit/checkpoint", headers=service.as_("scraper"))
    assert answer.status_code == 404
    assert "signs no checkpoints" in answer.json()["error"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        pytest.param(["--checkpoint-every", "1h"], "go together", id="period-without-folder"),
        pytest.param(
            ["--checkpoint-every", "1h", "--checkpoint-dir", "."], "--key", id="period-without-key"
        ),
        pytest.param(["--checkpoint-key", "missing.key"], "cannot read the key", id="no-key-file"),
    ],
)
def test_serve_refuses_a_checkpoint_schedule_it_cannot_keep(
    run_cli: Any, tmp_path: Path, flags: list[str], message: str
) -> None:
    """A schedule without its folder or key fails the start with one line (exit 2)."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("principals: []\n")
    done = run_cli("serve", "--tokens", str(tokens), *flags)
    assert done.code == 2, done.stderr
    assert message in done.stderr
