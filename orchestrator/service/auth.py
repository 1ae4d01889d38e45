"""Who is calling the service, and what they may do.

Callers present a bearer token. The tokens file holds only each token's
SHA-256 with the principal it stands for:

    principals:
      - name: github-ci
        roles: [ci]
        token_sha256: "9f86d0…"
      - name: alice
        roles: [approver]
        approves: [senior-engineer, security]   # the gate roles she signs in
        token_sha256: "…"

Tokens are 256 random bits (`commander token new`), so one fast hash is
enough: there is nothing to guess that a slow hash would protect. A leaked
file gives no token away. The principal's name is who the audit chain
records: an approver signs as the name their token carries, never as a
name the request asserts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from orchestrator.errors import ConfigError
from orchestrator.yamlfile import load_model

TOKEN_PREFIX = "cmdr_"  # noqa: S105 - a prefix, not a secret
_HEX64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
_NAME = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


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
    token_sha256: _HEX64

    @model_validator(mode="after")
    def _approves_needs_approver(self) -> Principal:
        if self.approves and Role.APPROVER not in self.roles:
            raise ValueError("`approves` is only for principals with the approver role")
        return self

    def may(self, permission: Permission) -> bool:
        """Whether any of the principal's roles grants `permission`."""
        return any(permission in GRANTS[role] for role in self.roles)


class TokensFile(BaseModel):
    """The tokens file: principals by token hash."""

    model_config = ConfigDict(extra="forbid")

    principals: tuple[Principal, ...] = ()


class Authenticator:
    """Maps a presented bearer token to its principal."""

    def __init__(self, principals: tuple[Principal, ...]) -> None:
        self._by_hash = {p.token_sha256: p for p in principals}

    @classmethod
    def from_file(cls, path: Path) -> Authenticator:
        """Load and check a tokens file; names and hashes must be unique."""
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
        hashes = [p.token_sha256 for p in parsed.principals]
        if len(set(names)) != len(names):
            raise ConfigError(str(path), "a principal name appears twice")
        if len(set(hashes)) != len(hashes):
            raise ConfigError(str(path), "two principals share one token")
        if not parsed.principals:
            raise ConfigError(str(path), "no principals: nobody could use the service")
        return cls(parsed.principals)

    def principal(self, token: str) -> Principal | None:
        """The principal `token` belongs to, or None."""
        found = self._by_hash.get(hash_token(token))
        # The dict lookup already matched; compare again in constant time anyway.
        if found is None or not hmac.compare_digest(found.token_sha256, hash_token(token)):
            return None
        return found


def hash_token(token: str) -> str:
    """The SHA-256 hex digest a tokens file keeps for `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh bearer token: the prefix makes it findable by secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
