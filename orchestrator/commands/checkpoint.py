"""Anchors outside the database: `audit keygen`, `audit checkpoint`, and the keys they read.

`keygen` writes an Ed25519 key pair (or, with --chain, a chain key); the
private key never goes into the store. `checkpoint` signs the chain head and
writes the statement to stdout, a file or a folder; `audit verify
--checkpoints` (commands/audit.py) proves the chain still extends each one.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.commands.options import DbOption
from orchestrator.errors import UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from orchestrator.store.verify import Anchor

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="The Ed25519 private key (PEM); default: $COMMANDER_CHECKPOINT_KEY holds it.",
    ),
]


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    chain: Annotated[
        bool,
        typer.Option(
            "--chain",
            help="Write a chain key (hex) for COMMANDER_CHAIN_KEY_FILE instead of a signing key.",
        ),
    ] = False,
) -> None:
    """Make a checkpoint signing key (OUT and OUT.pub), or a chain key; never overwrites one."""
    from orchestrator.settings import CHAIN_KEY_BYTES  # noqa: PLC0415

    if chain:
        _write_secret(out, secrets.token_hex(CHAIN_KEY_BYTES) + "\n")
        _say(f"wrote chain key {out}: set COMMANDER_CHAIN_KEY_FILE={out} for every writer")
        return
    from orchestrator.store.checkpoints import generate_key, key_id, public_key  # noqa: PLC0415

    private, public = generate_key()
    public_path = out.with_name(out.name + ".pub")
    if public_path.exists():
        raise UsageError(f"{public_path} already exists: keys are never overwritten")
    _write_secret(out, private.decode("ascii"))
    public_path.write_text(public.decode("ascii"), encoding="ascii")
    ident = key_id(public_key(public.decode("ascii"), str(public_path)))
    _say(
        f"wrote signing key {out} (keep it away from the store) and public key {public_path} "
        f"({ident}): verify with --public-key {public_path}"
    )


def checkpoint(
    key: KeyOption = None,
    out: Annotated[
        str,
        typer.Option("--out", help="A file, a folder (one file per checkpoint), or - for stdout."),
    ] = "-",
    db: DbOption = None,
) -> None:
    """Sign the audit chain's head (seq, hash, time) and write the checkpoint."""
    from orchestrator.clock import utc_now  # noqa: PLC0415
    from orchestrator.commands.audit import open_store  # noqa: PLC0415
    from orchestrator.store.checkpoints import sign_head, write_checkpoint  # noqa: PLC0415

    signer = load_signing_key(key)
    with open_store(db) as store:
        signed = sign_head(store, signer, utc_now())
    if out == "-":
        _say(json.dumps(signed.to_json_dict(), indent=2))
        return
    written = write_checkpoint(signed, Path(out))
    _say(f"checkpoint of seq {signed.seq} written to {written}")


def load_signing_key(path: Path | None) -> Ed25519PrivateKey:
    """The signing key from --key, else $COMMANDER_CHECKPOINT_KEY; neither is a usage error."""
    from orchestrator.settings import ENV_CHECKPOINT_KEY, key_text  # noqa: PLC0415
    from orchestrator.store.checkpoints import signing_key  # noqa: PLC0415

    found = key_text(path, ENV_CHECKPOINT_KEY)
    if found is None:
        raise UsageError(f"give --key FILE or set {ENV_CHECKPOINT_KEY}: nothing to sign with")
    return signing_key(*found)


def trusted_key(path: Path | None) -> Ed25519PublicKey:
    """The key checkpoints must be signed with: --public-key, else the environment's."""
    from orchestrator.settings import (  # noqa: PLC0415
        ENV_CHECKPOINT_KEY,
        ENV_CHECKPOINT_PUBLIC_KEY,
        key_text,
    )
    from orchestrator.store.checkpoints import public_key  # noqa: PLC0415

    found = key_text(path, ENV_CHECKPOINT_PUBLIC_KEY) or key_text(None, ENV_CHECKPOINT_KEY)
    if found is None:
        raise UsageError(
            f"give --public-key FILE (or set {ENV_CHECKPOINT_PUBLIC_KEY}): a checkpoint is "
            "only as good as the key it is checked with"
        )
    return public_key(*found)


def anchors(checkpoints: Path, public: Path | None) -> list[Anchor]:
    """The checkpoints at `checkpoints` (a file or a folder), each signature checked."""
    from orchestrator.store.checkpoints import read_checkpoints, trusted_anchors  # noqa: PLC0415

    return trusted_anchors(read_checkpoints(checkpoints), trusted_key(public))


def _write_secret(path: Path, text: str) -> None:
    """Create `path` readable by its owner only; an existing file is never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} already exists: keys are never overwritten") from None
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add `keygen` and `checkpoint` to the audit commands."""
    app.command()(keygen)
    app.command()(checkpoint)
