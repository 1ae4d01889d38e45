"""Which token the service uses towards GitHub: a GitHub App's installation token, or a fixed one.

A deployment protection rule can only be answered by the GitHub App whose
rule it is, with a token of the installation that sent the event; such
tokens live an hour. With COMMANDER_GITHUB_APP_ID and
COMMANDER_GITHUB_APP_KEY (the App's private key, PEM) the service signs a
short JWT (RS256, as GitHub's App authentication asks) and exchanges it for
the event's installation's token (`POST /app/installations/{id}/access_tokens`),
kept until five minutes before it expires. Without an App, the fixed
COMMANDER_GITHUB_TOKEN is used (enough to reply on pull requests).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from orchestrator.service.integrations import Integrations
from orchestrator.service.outbound import Unsent, call

_MARGIN_SECONDS = 300  # renew this long before GitHub says the token expires


class GitHubAuth:
    """Hands out the token for an installation (or the fixed token)."""

    def __init__(self, integrations: Integrations) -> None:
        self._integrations = integrations
        self._tokens: dict[int, tuple[str, float]] = {}  # installation -> (token, renew at)
        self._lock = threading.Lock()

    def token(self, installation: int | None) -> str | None:
        """The token to call GitHub with for an event of `installation`."""
        app_id, key = self._integrations.github_app_id, self._integrations.github_app_key
        if app_id is None or key is None or installation is None:
            return self._integrations.github_token
        with self._lock:
            cached = self._tokens.get(installation)
            if cached is not None and cached[1] > time.time():
                return cached[0]
        url = f"{self._integrations.github_api}/app/installations/{installation}/access_tokens"
        answered = call("POST", url, token=app_jwt(app_id, key), body={})
        try:
            document = answered.json()
            token = str(document["token"])
            expires = datetime.fromisoformat(str(document["expires_at"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError) as exc:
            raise Unsent(f"GitHub gave no installation token: {exc}") from None
        renew = expires.astimezone(UTC).timestamp() - _MARGIN_SECONDS
        with self._lock:
            self._tokens[installation] = (token, renew)
        return token


def installation_of(payload: dict[str, Any]) -> int | None:
    """The GitHub App installation an event came from, when a GitHub App sent it."""
    found = (payload.get("installation") or {}).get("id")
    return found if isinstance(found, int) else None


def app_jwt(app_id: str, private_key_pem: str, *, now: float | None = None) -> str:
    """A GitHub App JWT: RS256 over {iat: now - 60 s, exp: now + 9 min, iss: app id}."""
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Unsent("COMMANDER_GITHUB_APP_KEY is not an RSA private key (a GitHub App's is)")
    issued = int(now if now is not None else time.time())
    # iat a minute back: GitHub refuses a JWT issued in its future when clocks drift
    claims = {"iat": issued - 60, "exp": issued + 540, "iss": app_id}
    signing_input = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def _b64(document: dict[str, object]) -> str:
    return _b64url(json.dumps(document, separators=(",", ":")).encode("utf-8"))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
