"""Token lifetimes and a tokens file followed while the service runs.

An entry's `expires` time ends its token (401); a token added to the file
works at once, a removed one stops at once, without a restart; a file that
stops loading refuses every token until it is fixed (fail closed). Files
without `expires` load as before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.errors import ConfigError
from orchestrator.service.auth import Authenticator, hash_token
from tests.databases import fresh_database
from tests.service_support import RunningService, running_service, token_of


def entry(name: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "roles": roles, "token_sha256": hash_token(token_of(name))} | extra


def write(path: Path, *entries: dict[str, Any]) -> Path:
    """Replace the tokens file, as an admin's editor would (a new modification time)."""
    path.write_text(yaml.safe_dump({"principals": list(entries)}), encoding="utf-8")
    return path


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def status(service: RunningService, who: str) -> int:
    return service.client.get("/v1/decisions", headers=service.as_(who)).status_code


def test_an_expired_token_is_401_and_one_still_live_is_served(tmp_path: Path) -> None:
    """`expires` in the past: refused; in the future: served; absent: served (as before)."""
    now = datetime.now(UTC)
    tokens = write(
        tmp_path / "tokens.yaml",
        entry("old-ci", ["ci"], expires=iso(now - timedelta(minutes=1))),
        entry("new-ci", ["ci"], expires=iso(now + timedelta(days=1))),
        entry("ci-bot", ["ci"]),
    )
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_service(url, tmp_path, tokens=tokens) as s,
    ):
        refused = s.client.get("/v1/decisions", headers=s.as_("old-ci"))
        assert refused.status_code == 401
        assert refused.json() == {"error": "unknown or expired bearer token"}
        assert status(s, "new-ci") == 200
        assert status(s, "ci-bot") == 200


def test_a_token_added_or_removed_takes_effect_without_a_restart(tmp_path: Path) -> None:
    """The file is followed by its modification time: no restart, no signal needed."""
    path = tmp_path / "tokens.yaml"
    tokens = write(path, entry("ci-bot", ["ci"]), entry("leaver", ["ci"]))
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_service(url, tmp_path, tokens=tokens) as s,
    ):
        assert (status(s, "leaver"), status(s, "joiner")) == (200, 401)
        write(path, entry("ci-bot", ["ci"]), entry("joiner", ["ci"]))
        assert (status(s, "leaver"), status(s, "joiner")) == (401, 200)
        assert status(s, "ci-bot") == 200


def test_a_tokens_file_that_stops_loading_refuses_every_token_until_fixed(tmp_path: Path) -> None:
    """A broken edit must not let a revoked token live on: every token is 401 until it loads."""
    path = tmp_path / "tokens.yaml"
    tokens = write(path, entry("ci-bot", ["ci"]))
    with (
        fresh_database("sqlite", tmp_path) as url,
        running_service(url, tmp_path, tokens=tokens) as s,
    ):
        assert status(s, "ci-bot") == 200
        path.write_text("principals: [", encoding="utf-8")
        assert status(s, "ci-bot") == 401
        write(path, entry("ci-bot", ["ci"]))
        assert status(s, "ci-bot") == 200


def test_an_expiry_needs_a_zone(tmp_path: Path) -> None:
    """A naive time is ambiguous across servers: the file is refused, naming `expires`."""
    path = write(tmp_path / "tokens.yaml", entry("a", ["ci"], expires="2030-01-01T00:00:00"))
    with pytest.raises(ConfigError, match="expires") as caught:
        Authenticator.from_file(path)
    assert str(path) in str(caught.value)
