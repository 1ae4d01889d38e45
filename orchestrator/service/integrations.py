"""The platforms the service answers, their secrets, and how their signatures are checked.

    COMMANDER_GITHUB_WEBHOOK_SECRET   the GitHub webhook's secret (X-Hub-Signature-256)
    COMMANDER_GITHUB_APP_ID           a GitHub App's id, and
    COMMANDER_GITHUB_APP_KEY          its private key (PEM): installation tokens are
                                      minted per event (github_auth.py); needed to
                                      answer deployment protection rules
    COMMANDER_GITHUB_TOKEN            else a fixed token that may comment on PRs
    COMMANDER_GITHUB_API_URL          https://api.github.com, or GitHub Enterprise's /api/v3
    COMMANDER_RUN_TASK_HMAC_KEY       the HCP Terraform run task's HMAC key

Each variable may instead name a file with `_FILE` (a mounted secret). An
endpoint whose secret is not set answers 404: a platform nobody configured
is not there, and no unsigned request is ever acted on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import UsageError

ENV_GITHUB_SECRET = "COMMANDER_GITHUB_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
ENV_GITHUB_TOKEN = "COMMANDER_GITHUB_TOKEN"  # noqa: S105 - a variable's name
ENV_GITHUB_API = "COMMANDER_GITHUB_API_URL"
ENV_GITHUB_APP_ID = "COMMANDER_GITHUB_APP_ID"
ENV_GITHUB_APP_KEY = "COMMANDER_GITHUB_APP_KEY"
ENV_RUN_TASK_KEY = "COMMANDER_RUN_TASK_HMAC_KEY"
GITHUB_API = "https://api.github.com"


@dataclass(frozen=True, kw_only=True)
class Integrations:
    """The platforms' secrets and addresses; an empty secret turns its endpoint off."""

    github_secret: str | None = None
    github_token: str | None = None
    github_api: str = GITHUB_API
    github_app_id: str | None = None
    github_app_key: str | None = None  # PEM
    run_task_key: str | None = None
    # How often waiting deployments look at the gate (seconds).
    watch_seconds: float = 5.0


def integrations_from_env(environ: Mapping[str, str] | None = None) -> Integrations:
    """The secrets from the environment (or the files their `_FILE` variables name)."""
    env = os.environ if environ is None else environ
    return Integrations(
        github_secret=_secret(env, ENV_GITHUB_SECRET),
        github_token=_secret(env, ENV_GITHUB_TOKEN),
        github_api=(env.get(ENV_GITHUB_API) or GITHUB_API).rstrip("/"),
        github_app_id=_secret(env, ENV_GITHUB_APP_ID),
        github_app_key=_secret(env, ENV_GITHUB_APP_KEY),
        run_task_key=_secret(env, ENV_RUN_TASK_KEY),
    )


def _secret(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value:
        return value
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{name}_FILE={path}: cannot read the secret: {exc}") from None
    if not text:
        raise UsageError(f"{name}_FILE={path}: the file is empty")
    return text


def github_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is `sha256=` + HMAC-SHA256(secret, body), in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def run_task_signature_ok(key: str, body: bytes, header: str | None) -> bool:
    """Whether `X-TFC-Task-Signature` is HMAC-SHA512(key, body) in hex, in constant time."""
    if not header:
        return False
    expected = hmac.new(key.encode("utf-8"), body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, header.strip().lower())
