"""Resolve where things are: flags, then COMMANDER_* variables, then defaults.

This is the only module that reads the environment (with places.py, the
part the guard's fast path needs); everything below the CLI and the service
receives a resolved `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.places import ENV_CONFIG, cache_location

ENV_DATABASE_URL = "COMMANDER_DATABASE_URL"
ENV_TOPOLOGY = "COMMANDER_TOPOLOGY"
ENV_BACKSTAGE = "COMMANDER_BACKSTAGE"
ENV_RAY_ADDRESS = "COMMANDER_RAY_ADDRESS"
# The chain key (hex), or a file holding it: every link written is then HMAC'd with it.
ENV_CHAIN_KEY = "COMMANDER_CHAIN_KEY"
ENV_CHAIN_KEY_FILE = "COMMANDER_CHAIN_KEY_FILE"
# The Ed25519 key that signs checkpoints, and the public key that verifies them (PEM or base64).
ENV_CHECKPOINT_KEY = "COMMANDER_CHECKPOINT_KEY"
ENV_CHECKPOINT_PUBLIC_KEY = "COMMANDER_CHECKPOINT_PUBLIC_KEY"
CHAIN_KEY_BYTES = 32
# `commander serve` only
ENV_TOKENS = "COMMANDER_TOKENS"
ENV_HOST = "COMMANDER_HOST"
ENV_PORT = "COMMANDER_PORT"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the store, the policy and the topology are."""

    database_url: str
    config_dir: Path | None
    topology: Path | None
    # A Backstage catalog file: more services and dependencies for the graph.
    backstage: Path | None = None
    # The Ray cluster `--executor ray` joins (HOST:PORT, or "auto" for the one
    # `ray start` runs on this machine); None starts a private local Ray.
    ray_address: str | None = None
    # Where derived files (a large topology's built graph) are cached; None: nowhere.
    cache_dir: Path | None = None
    # The key every chain link written is HMAC'd with (never stored); None: unkeyed.
    chain_key: bytes | None = None
    # The default store's folder, which commander may create; None when a URL was given.
    store_folder: Path | None = None


def default_store_folder() -> Path:
    """The user's data directory, where the default store lives."""
    from platformdirs import user_data_dir  # noqa: PLC0415 - only when no URL is given

    return Path(user_data_dir("commander", appauthor=False))


def default_database_url() -> str:
    """A SQLite file in the user's data directory: zero set-up."""
    return f"sqlite:///{default_store_folder() / 'commander.db'}"


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where derived files (the parsed topology) are kept: COMMANDER_CACHE_DIR, else the user's."""
    return Path(cache_location(environ))


def resolve(
    *,
    db: str | None = None,
    config: str | None = None,
    topology: str | None = None,
    backstage: str | None = None,
    ray_address: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Apply the documented precedence: flag, environment variable, default."""
    env = os.environ if environ is None else environ
    config_value = config or env.get(ENV_CONFIG) or None
    topology_value = topology or env.get(ENV_TOPOLOGY) or None
    backstage_value = backstage or env.get(ENV_BACKSTAGE) or None
    given_url = db or env.get(ENV_DATABASE_URL) or None
    return Settings(
        database_url=given_url or default_database_url(),
        store_folder=None if given_url else default_store_folder(),
        config_dir=Path(config_value) if config_value else None,
        topology=Path(topology_value) if topology_value else None,
        backstage=Path(backstage_value) if backstage_value else None,
        ray_address=ray_address or env.get(ENV_RAY_ADDRESS) or None,
        cache_dir=cache_dir(env),
        chain_key=chain_key(env),
    )


def chain_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """COMMANDER_CHAIN_KEY, else the file COMMANDER_CHAIN_KEY_FILE names: hex, 32 bytes or more."""
    from orchestrator.errors import UsageError  # noqa: PLC0415

    env = os.environ if environ is None else environ
    text, origin = env.get(ENV_CHAIN_KEY), ENV_CHAIN_KEY
    if not text and (path := env.get(ENV_CHAIN_KEY_FILE)):
        origin = f"{ENV_CHAIN_KEY_FILE} ({path})"
        try:
            text = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{origin}: cannot read the chain key: {exc}") from None
    if not text:
        return None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < CHAIN_KEY_BYTES:
        raise UsageError(
            f"{origin}: the chain key must be at least {CHAIN_KEY_BYTES * 2} hex digits "
            "(`commander audit keygen --chain FILE` writes one)"
        )
    return key


def key_text(
    flag_path: Path | None, env_name: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """A key's text and where it came from: the file a flag names, else an environment variable."""
    from orchestrator.errors import UsageError  # noqa: PLC0415

    env = os.environ if environ is None else environ
    if flag_path is not None:
        try:
            return flag_path.read_text(encoding="ascii"), str(flag_path)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{flag_path}: cannot read the key: {exc}") from None
    value = env.get(env_name)
    return (value, env_name) if value else None


@dataclass(frozen=True, kw_only=True)
class Listen:
    """Where `commander serve` listens and whose tokens it accepts."""

    host: str
    port: int
    tokens: Path


def resolve_listen(
    *,
    host: str | None = None,
    port: int | None = None,
    tokens: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Listen:
    """Flag, then COMMANDER_HOST / COMMANDER_PORT / COMMANDER_TOKENS, then defaults.

    The default host is loopback: listening wider is a choice to make on purpose.
    """
    from orchestrator.errors import UsageError  # noqa: PLC0415

    env = os.environ if environ is None else environ
    tokens_value = tokens or env.get(ENV_TOKENS)
    if not tokens_value:
        raise UsageError(f"give --tokens FILE or set {ENV_TOKENS}: the service admits no one else")
    port_value = port if port is not None else env.get(ENV_PORT) or 8080
    try:
        port_number = int(port_value)
    except ValueError:
        raise UsageError(f"{ENV_PORT}={port_value!r} is not a port number") from None
    if not 0 <= port_number <= 65535:
        raise UsageError(f"port {port_number} is out of range")
    return Listen(
        host=host or env.get(ENV_HOST) or "127.0.0.1", port=port_number, tokens=Path(tokens_value)
    )
