"""Ask a running commander service about a tool call: one small HTTP request, stdlib only.

With `COMMANDER_URL` (and the token in `COMMANDER_TOKEN`) set, `commander
guard` sends the call to `POST /v1/guard` instead of judging it here, so a
team has one policy, one store and one kill switch for every agent. The
request goes through http.client, the standard library's HTTP client
(urllib.request wraps it and adds tempfile, hashlib and more: about 10 ms of
an answer that must stay small). Every failure fails closed: an unreachable
service, a timeout, an error status or an answer that is not one the route
gives raises, and the guard blocks the call (the hook's exit 2, the
wrapper's exit 1); no failure ever reads as allow.
"""

from __future__ import annotations

import json
import os
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from orchestrator.adapters.commands_calls import Answer, ToolCall
from orchestrator.errors import ReviewRunError, UsageError

if TYPE_CHECKING:
    from orchestrator.commands.guard_core import GuardOptions

ENV_TOKEN = "COMMANDER_TOKEN"  # noqa: S105 - the variable's name, not a secret
# A review takes well under a second; a service that does not answer in this
# long is treated as down (plus whatever --wait asks the service to wait).
_TIMEOUT_SECONDS = 30.0
_MAX_ANSWER_BYTES = 1 << 20
_DECISIONS = frozenset({"allow", "ask", "deny"})


def ask_service(call: ToolCall, options: GuardOptions, url: str) -> Answer:
    """The service's answer to one tool call; raises on anything but a well-formed answer."""
    token = os.environ.get(ENV_TOKEN, "").strip()
    if not token:
        raise UsageError(
            f"COMMANDER_URL is set but {ENV_TOKEN} is empty: the service needs a token"
        )
    place = urlsplit(url)
    if place.scheme not in ("http", "https") or not place.hostname:
        raise UsageError(f"COMMANDER_URL {url!r}: expected an http:// or https:// address")
    kind = HTTPSConnection if place.scheme == "https" else HTTPConnection
    path = f"{place.path.rstrip('/')}/v1/guard?{urlencode(_query(call, options))}"
    body = json.dumps(_document(call)).encode("utf-8")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = kind(place.hostname, place.port, timeout=_TIMEOUT_SECONDS + options.wait)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(_MAX_ANSWER_BYTES)
    except (OSError, HTTPException) as exc:
        raise ReviewRunError(f"{url}: the service does not answer: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise ReviewRunError(f"{url}: HTTP {response.status}: {_error_of(answer, response.reason)}")
    return _answer(answer, url)


def _query(call: ToolCall, options: GuardOptions) -> dict[str, str]:
    query = {
        "format": call.format,
        "actor": options.actor,
        "source": options.source,
        "environment": options.environment,
        "intent": options.intent,
        "wait": f"{options.wait:g}" if options.wait > 0 else None,
    }
    return {key: value for key, value in query.items() if value}


def _document(call: ToolCall) -> dict[str, Any]:
    """The call as it arrived (the hook's JSON), or as the generic format (the wrapper's argv)."""
    if call.raw:
        return call.raw
    document: dict[str, Any] = {"cwd": call.cwd, "intent": call.intent}
    if call.argv is not None:
        document["argv"] = list(call.argv)
    else:
        document["command"] = call.command
    for key in ("actor", "environment", "session"):
        if getattr(call, key) is not None:
            document[key] = getattr(call, key)
    return document


def _answer(body: bytes, url: str) -> Answer:
    try:
        found = json.loads(body)
    except ValueError:
        raise ReviewRunError(f"{url}: the answer is not JSON") from None
    if not isinstance(found, dict) or found.get("decision") not in _DECISIONS:
        raise ReviewRunError(f"{url}: the answer has no allow, ask or deny decision")
    reason, outcome, decision_id = (found.get(k) for k in ("reason", "outcome", "decision_id"))
    return Answer(
        found["decision"],
        reason if isinstance(reason, str) else "",
        outcome=outcome if isinstance(outcome, str) else None,
        decision_id=decision_id if isinstance(decision_id, str) else None,
    )


def _error_of(body: bytes, reason: str) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error or reason or "?").splitlines()[0][:300]
