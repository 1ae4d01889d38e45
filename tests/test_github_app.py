"""Answering as a GitHub App: installation tokens minted with a signed JWT, and the callback
address checked before any token is sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from orchestrator.service.github_auth import app_jwt
from tests.databases import fresh_database, run_sql
from tests.github_support import CALLBACK, CHANGE_ID, GitHubRig, deployment_event, github_rig
from tests.test_github_deployments import noop_plan

APP_ID = "424242"
TOKENS = "/app/installations/5/access_tokens"
AGENT = {"actor": "agent-7", "source": "ai-agent", "name": "plan.json", "change_id": CHANGE_ID}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def rig(tmp_path: Path, key: rsa.RSAPrivateKey) -> Iterator[GitHubRig]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with (
        fresh_database("sqlite", tmp_path) as url,
        github_rig(url, tmp_path, github_app_id=APP_ID, github_app_key=pem) as running,
    ):
        running.github.answer(
            "POST", TOKENS, 201, {"token": "ghs_minted", "expires_at": "2099-01-01T00:00:00Z"}
        )
        yield running


def _part(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def verify_jwt(jwt: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The claims of an RS256 JWT, after checking its signature with the App's public key."""
    header, claims, signature = jwt.split(".")
    assert _part(header) == {"alg": "RS256", "typ": "JWT"}
    key.public_key().verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{claims}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    found: dict[str, Any] = _part(claims)
    return found


def test_the_jwt_is_what_github_asks_for(key: rsa.RSAPrivateKey) -> None:
    """RS256, issued a minute back, valid for ten minutes in all, issued by the App."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    claims = verify_jwt(app_jwt(APP_ID, pem, now=1_800_000_000), key)
    assert claims == {"iat": 1_799_999_940, "exp": 1_800_000_540, "iss": APP_ID}


def test_a_deployment_is_answered_with_the_installation_s_token(
    rig: GitHubRig, key: rsa.RSAPrivateKey
) -> None:
    """The event's installation gets a token for a signed JWT; it answers; it is reused."""
    rig.service.submit(noop_plan(), **AGENT)
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    rig.deliver("deployment_protection_rule", deployment_event(rig.github.url))
    (minted,) = rig.github.requests("POST", TOKENS)  # once: the token is kept until it expires
    jwt = minted.headers["Authorization"].removeprefix("Bearer ")
    assert verify_jwt(jwt, key)["iss"] == APP_ID
    answers = rig.github.requests("POST", CALLBACK)
    assert [a.headers["Authorization"] for a in answers] == ["Bearer ghs_minted"] * 2
    assert [a.body["state"] for a in answers] == ["approved"] * 2


def test_a_callback_off_the_github_api_is_refused_before_any_token_is_sent(
    rig: GitHubRig, tmp_path: Path
) -> None:
    """400, nothing recorded, nothing sent: the App's token never leaves for another host."""
    rig.service.submit(noop_plan(), **AGENT)
    event = deployment_event(rig.github.url)
    event["deployment_callback_url"] = "http://127.0.0.1:9/steal"
    answer = rig.deliver("deployment_protection_rule", event)
    assert answer.status_code == 400
    assert "not on the configured GitHub API" in answer.json()["error"]
    assert rig.github.requests() == []
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    assert run_sql(url, "SELECT count(*) FROM platform_deliveries")[0][0] == 0
