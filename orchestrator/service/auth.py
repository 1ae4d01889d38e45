"""Who is calling the service, and what they may do.

Callers present a bearer token. The tokens file holds only each token's
SHA-256 with the principal it stands for:

    principals:
      - name: github-ci
        roles: [ci]
        token_sha256: "9f86d0…"
        expires: "2027-03-01T00:00:00Z"        # optional: refused (401) from then on
      - name: alice
        roles: [approver]
        approves: [senior-engineer, security]   # the gate roles she signs in
        github: alice-gh                        # her GitHub login: PR comments sign as alice
        token_sha256: "…"
      - name: bob
        roles: [approver]
        approves: [security]
        github: bob-gh                          # signs on GitHub only: no token

Tokens are 256 random bits (`commander token new`), so one fast hash is
enough: there is nothing to guess that a slow hash would protect. A leaked
file gives no token away. The principal's name is who the audit chain
records: an approver signs as the name their token carries, never as a
name the request asserts. A GitHub login maps a `/commander approve` comment
(service/routes_github.py, whose signature proves GitHub sent it) to the
principal in the same way; a principal needs a token, a login or both.

The running service follows the file: each request compares its modification
time, size and inode with the last load (one stat call), and SIGHUP forces a
reload, so a token added, removed or given an expiry takes effect without a
restart. A file that no longer loads refuses every token until it is fixed:
a revoked token must never keep working because of a typo.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from orchestrator.clock import utc_now
from orchestrator.errors import ConfigError, Refused, UserError
from orchestrator.yamlfile import load_model

log = logging.getLogger("commander.service")

TOKEN_PREFIX = "cmdr_"  # noqa: S105 - a prefix, not a secret
_HEX64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
_NAME = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# GitHub's own rule for logins: alphanumerics and single hyphens, at most 39 characters.
_LOGIN = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")]


class Role(StrEnum):
    """What a principal is for."""

    CI = "ci"  # submits proposals and reads decisions
    APPROVER = "approver"  # signs or denies escalations in its gate roles; reads
    ADMIN = "admin"  # freezes and thaws actors; reads
    METRICS = "metrics"  # scrapes /metrics and nothing else
    AGENT = "agent"  # asks the guard about its own tool calls, and nothing else


class Permission(StrEnum):
    """What a route needs."""

    SUBMIT = "submit"
    GUARD = "guard"
    READ = "read"
    SIGN = "sign"
    FREEZE = "freeze"
    METRICS = "metrics"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CI: frozenset({Permission.SUBMIT, Permission.GUARD, Permission.READ, Permission.METRICS}),
    Role.APPROVER: frozenset({Permission.SIGN, Permission.READ, Permission.METRICS}),
    Role.ADMIN: frozenset({Permission.FREEZE, Permission.READ, Permission.METRICS}),
    Role.METRICS: frozenset({Permission.METRICS}),
    Role.AGENT: frozenset({Permission.GUARD}),
}


class Principal(BaseModel):
    """One caller: a pipeline, a person or a scraper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: _NAME
    roles: tuple[Role, ...] = Field(min_length=1)
    # Gate roles (senior-engineer, security, …) an approver may sign in.
    approves: tuple[_NAME, ...] = ()
    token_sha256: _HEX64 | None = None
    github: _LOGIN | None = None  # the GitHub login that signs as this principal in PR comments
    # From this time on the token is refused; none: it lasts until removed from the file.
    expires: AwareDatetime | None = None

    @model_validator(mode="after")
    def _approves_needs_approver(self) -> Principal:
        if self.approves and Role.APPROVER not in self.roles:
            raise ValueError("`approves` is only for principals with the approver role")
        if self.token_sha256 is None and self.github is None:
            raise ValueError("give token_sha256, github or both: nobody could act as it")
        return self

    def expired(self, now: datetime) -> bool:
        """Whether the token's lifetime is over at `now` (naive: UTC, as the service's clock)."""
        if self.expires is None:
            return False
        return (now if now.tzinfo else now.replace(tzinfo=UTC)) >= self.expires

    def may(self, permission: Permission) -> bool:
        """Whether any of the principal's roles grants `permission`."""
        return any(permission in GRANTS[role] for role in self.roles)


class TokensFile(BaseModel):
    """The tokens file: principals by token hash."""

    model_config = ConfigDict(extra="forbid")

    principals: tuple[Principal, ...] = ()


class Authenticator:
    """Maps a presented bearer token to its principal, following the tokens file."""

    def __init__(self, principals: tuple[Principal, ...], path: Path | None = None) -> None:
        self._index(principals)
        self._path = path
        self._seen = _stat(path) if path is not None else None
        self._forced = False
        self._lock = threading.Lock()

    def _index(self, principals: tuple[Principal, ...]) -> None:
        self._by_hash = {p.token_sha256: p for p in principals if p.token_sha256 is not None}
        self._by_login = {p.github.casefold(): p for p in principals if p.github is not None}

    @classmethod
    def from_file(cls, path: Path) -> Authenticator:
        """Load and check a tokens file; names and hashes must be unique."""
        return cls(_load(path), path)

    def reload_soon(self) -> None:
        """Reload the file before the next token is checked (what SIGHUP asks; signal-safe)."""
        self._forced = True

    def principal(self, token: str, now: datetime | None = None) -> Principal | None:
        """The principal `token` belongs to, or None: unknown, expired, or no loadable file."""
        self._follow_file()
        found = self._by_hash.get(hash_token(token))
        # The dict lookup already matched; compare again in constant time anyway.
        if found is None or not hmac.compare_digest(found.token_sha256 or "", hash_token(token)):
            return None
        if found.expired(now or utc_now()):
            return None
        return found

    def github_principal(self, login: str) -> Principal | None:
        """The principal whose `github` login is `login` (any case), or None."""
        self._follow_file()
        found = self._by_login.get(login.casefold())
        if found is None or found.expired(utc_now()):
            return None
        return found

    def _follow_file(self) -> None:
        if self._path is None:
            return
        seen = _stat(self._path)
        if seen == self._seen and not self._forced:
            return
        with self._lock:
            if seen == self._seen and not self._forced:
                return  # another request reloaded it meanwhile
            self._forced = False
            self._seen = seen
            try:
                principals = _load(self._path)
            except (UserError, OSError) as exc:
                # Fail closed: a revoked token must not survive a broken edit.
                log.error("tokens file does not load; every token is refused until fixed: %s", exc)
                self._index(())
                return
            self._index(principals)
            log.info("tokens file reloaded: %d principals", len(principals))


def _load(path: Path) -> tuple[Principal, ...]:
    try:
        parsed = load_model(path, TokensFile)
    except ConfigError as exc:
        if "duplicate key 'principals'" not in str(exc):
            raise
        # `token new … >> tokens.yaml` twice: say how to add principals instead.
        raise ConfigError(
            exc.source,
            f"{str(exc).removeprefix(f'{exc.source}: {exc.where}: ')}; "
            "add principals with `commander token new NAME --role ROLE --file FILE`",
            where=exc.where,
        ) from None
    names = [p.name for p in parsed.principals]
    hashes = [p.token_sha256 for p in parsed.principals if p.token_sha256 is not None]
    # GitHub logins are case-insensitive: Alice and alice are one account.
    logins = [p.github.casefold() for p in parsed.principals if p.github is not None]
    if len(set(names)) != len(names):
        raise ConfigError(str(path), "a principal name appears twice")
    if len(set(hashes)) != len(hashes):
        raise ConfigError(str(path), "two principals share one token")
    if len(set(logins)) != len(logins):
        raise ConfigError(str(path), "two principals share one GitHub login")
    if not parsed.principals:
        raise ConfigError(str(path), "no principals: nobody could use the service")
    return parsed.principals


def _stat(path: Path) -> tuple[int, int, int] | None:
    """What tells that the file changed: modification time, size and inode (None: gone)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def refuse_own_change(principal: Principal, *proposers: str | None) -> None:
    """Refuse a principal whose GitHub login proposed or submitted the change.

    The gate compares names, and a change submitted from GitHub carries the
    author's login (`actor=$GITHUB_ACTOR`), not their principal's name: the
    login is the same person.
    """
    if principal.github is None:
        return
    login = principal.github.casefold()
    if any(p is not None and p.strip().casefold() == login for p in proposers):
        raise Refused(
            f"{principal.name} proposed this change (as {principal.github} on GitHub); "
            "nobody approves their own change"
        )


def hash_token(token: str) -> str:
    """The SHA-256 hex digest a tokens file keeps for `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh bearer token: the prefix makes it findable by secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
