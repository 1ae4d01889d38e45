"""Browser sessions for the web view: a reader token exchanged once for an opaque cookie.

The cookie holds 256 random bits and nothing else; the server keeps only
their SHA-256 with the principal and the expiry, so a session cannot be
forged, read or extended by the browser, and a copy of the server's memory
gives no cookie away. Sessions live in the process: a restart logs everyone
out, which is the safe direction. The login form is the one form that
changes anything, so it alone carries a CSRF token: a random value set as a
SameSite=Strict cookie and repeated in the form (double submit), compared in
constant time. A cross-site page can neither read the cookie nor make the
browser send it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.clock import Clock, utc_now

SESSION_COOKIE = "commander_session"
CSRF_COOKIE = "commander_csrf"
DEFAULT_TTL = timedelta(hours=8)
# Sessions kept at once; the oldest go first past it (a bound, not a quota).
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    """A logged-in reader: who, until when, and the token its own forms carry."""

    principal: str
    expires_at: datetime
    csrf: str


class SessionStore:
    """Sessions by the hash of their cookie, each until its expiry."""

    def __init__(self, *, ttl: timedelta = DEFAULT_TTL, clock: Clock = utc_now) -> None:
        self.ttl = ttl
        self._clock = clock
        self._by_hash: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: str) -> tuple[str, Session]:
        """A new session for `principal`: the cookie value (shown once) and the session."""
        cookie = secrets.token_urlsafe(32)
        session = Session(principal, self._clock() + self.ttl, secrets.token_urlsafe(32))
        with self._lock:
            self._drop_expired()
            while len(self._by_hash) >= MAX_SESSIONS:
                del self._by_hash[next(iter(self._by_hash))]
            self._by_hash[_digest(cookie)] = session
        return cookie, session

    def get(self, cookie: str | None) -> Session | None:
        """The live session this cookie opens, or None (unknown or expired)."""
        if not cookie:
            return None
        with self._lock:
            session = self._by_hash.get(_digest(cookie))
            if session is not None and session.expires_at <= self._clock():
                del self._by_hash[_digest(cookie)]
                return None
        return session

    def close(self, cookie: str | None) -> None:
        """End the session this cookie opens, if any."""
        if cookie:
            with self._lock:
                self._by_hash.pop(_digest(cookie), None)

    def _drop_expired(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._by_hash.items() if s.expires_at <= now]:
            del self._by_hash[key]


def new_csrf() -> str:
    """A fresh CSRF value for the login form and its cookie."""
    return secrets.token_urlsafe(32)


def csrf_matches(cookie: str | None, field: str | None) -> bool:
    """Whether the form repeats the cookie's CSRF value (constant time)."""
    if not cookie or not field:
        return False
    return hmac.compare_digest(cookie.encode(), field.encode())


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()
