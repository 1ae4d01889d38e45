"""Calls from the service to a platform's API: GitHub and HCP Terraform, stdlib only.

Replies on a pull request, answers to a deployment protection rule, a run
task's result and its plan JSON all go through `call`. It never raises for
an HTTP status: the caller decides what a 4xx means (an answer not sent is
recorded as owed, never as sent). A connection that fails is an `Unsent`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urljoin, urlsplit

TIMEOUT_SECONDS = 15.0
MAX_ANSWER_BYTES = 64 << 20  # a plan's JSON can be large
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3


class Unsent(Exception):
    """The platform could not be reached, or answered with an error status."""


@dataclass(frozen=True)
class Answered:
    """What the platform answered."""

    status: int
    body: bytes
    location: str | None = None

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def fetch(url: str, *, token: str | None, limit: int = MAX_ANSWER_BYTES) -> Answered:
    """GET `url`, following redirects without the token.

    HCP Terraform answers a plan's JSON with a redirect to a short-lived,
    already-signed address: the bearer token is not sent on there.
    """
    for _ in range(MAX_REDIRECTS + 1):
        answered = call("GET", url, token=token, limit=limit)
        if answered.status not in _REDIRECTS:
            return answered
        if not answered.location:
            raise Unsent(f"GET {_shown(url)}: HTTP {answered.status} without a Location")
        url, token = urljoin(url, answered.location), None
    raise Unsent(f"GET {_shown(url)}: more than {MAX_REDIRECTS} redirects")


def call(
    method: str,
    url: str,
    *,
    token: str | None,
    body: Any = None,
    content_type: str = "application/json",
    accept: str = "application/json",
    limit: int = MAX_ANSWER_BYTES,
) -> Answered:
    """Send one request (`body` as JSON) and read the answer; a status ≥ 400 is `Unsent`."""
    place = urlsplit(url)
    if place.scheme not in ("http", "https") or not place.hostname:
        raise Unsent(f"{url!r} is not an http(s) address")
    kind = HTTPSConnection if place.scheme == "https" else HTTPConnection
    headers = {"Accept": accept, "User-Agent": "commander"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = content_type
    path = place.path or "/"
    if place.query:
        path = f"{path}?{place.query}"
    connection = kind(place.hostname, place.port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        answer = response.read(limit + 1)
    except (OSError, HTTPException) as exc:
        raise Unsent(f"{method} {_shown(url)}: {exc}") from None
    finally:
        connection.close()
    if len(answer) > limit:
        raise Unsent(f"{method} {_shown(url)}: the answer is over {limit} bytes")
    if response.status >= 400:
        raise Unsent(f"{method} {_shown(url)}: HTTP {response.status}: {answer[:200]!r}")
    return Answered(response.status, answer, response.getheader("Location"))


def _shown(url: str) -> str:
    """The URL without its query string, which may carry a signature."""
    place = urlsplit(url)
    return f"{place.scheme}://{place.netloc}{place.path}"
