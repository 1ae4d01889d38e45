"""Signed checkpoints: the chain head, signed with an Ed25519 key that never enters the store.

Whoever can write the database can recompute every hash of the chain, so the
chain alone proves nothing against them. A checkpoint is a statement made
outside it — kept in git, a ticket, a log, a scraper's bucket:

    {"schema": "commander.checkpoint/v1", "seq": 1234, "hash": "<head hash>",
     "created_at": "2026-05-20T10:00:00.000000Z", "key_id": "ed25519:<16 hex>",
     "signature": "<base64 Ed25519 signature>"}

The signature covers the canonical JSON of every other member. `audit verify
--checkpoints` checks each signature with the public key the verifier trusts,
then that the chain's row at `seq` still has `hash` — so nothing up to it has
been removed, rewritten or slipped in since it was signed.

Keys are PEM files (or one line of base64 of the raw 32-byte key), as
`commander audit keygen` writes them. `cryptography` is imported only here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import select

from orchestrator.errors import CheckpointError
from orchestrator.models import Frozen
from orchestrator.store.chain import HEAD_ID, canonical, iso_utc
from orchestrator.store.tables import CHAIN_HEAD
from orchestrator.store.verify import Anchor

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from orchestrator.store.store import Store

SCHEMA = "commander.checkpoint/v1"
_RAW_KEY_BYTES = 32


class Checkpoint(Frozen):
    """A signed statement: the chain's row `seq` had hash `hash` at `created_at`."""

    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str

    def to_json_dict(self) -> dict[str, object]:
        """The checkpoint as written to a file."""
        return {"schema": SCHEMA, **self.model_dump()}

    def statement(self) -> bytes:
        """The bytes the signature covers."""
        data = self.to_json_dict()
        data.pop("signature")
        return canonical(data).encode("utf-8")


def generate_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: (private, public)."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def signing_key(text: str, origin: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM or one line of base64 of its raw 32 bytes."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )

    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(_raw(text))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(origin, f"not an Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(origin, "not an Ed25519 private key")
    return key


def public_key(text: str, origin: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or one line of base64; a private key gives its public."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    if "PRIVATE KEY" in text:
        return signing_key(text, origin).public_key()
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = Ed25519PublicKey.from_public_bytes(_raw(text))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(origin, f"not an Ed25519 public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(origin, "not an Ed25519 public key")
    return key


def _raw(text: str) -> bytes:
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != _RAW_KEY_BYTES:
        raise ValueError(f"{len(raw)} bytes, not {_RAW_KEY_BYTES}")
    return raw


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: which key signed a checkpoint."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def sign_head(store: Store, key: Ed25519PrivateKey, at: datetime) -> Checkpoint:
    """Sign the chain head as it stands: its seq, its hash and the time `at` (naive UTC)."""
    with store.reading("read the chain head") as conn:
        head = conn.execute(
            select(CHAIN_HEAD.c.seq, CHAIN_HEAD.c.hash).where(CHAIN_HEAD.c.id == HEAD_ID)
        ).one()
    if head.seq == 0:
        raise CheckpointError(store.url, "the audit chain is empty: there is nothing to sign yet")
    unsigned = Checkpoint(
        seq=head.seq,
        hash=head.hash,
        created_at=iso_utc(at),
        key_id=key_id(key.public_key()),
        signature="",
    )
    signature = base64.b64encode(key.sign(unsigned.statement())).decode("ascii")
    return unsigned.model_copy(update={"signature": signature})


def write_checkpoint(checkpoint: Checkpoint, dest: Path) -> Path:
    """Write to `dest`, or into it as checkpoint-<seq>-<time>.json when it is a folder."""
    target = dest
    if dest.is_dir():
        stamp = checkpoint.created_at.replace(":", "").replace("-", "").replace(".", "")
        target = dest / f"checkpoint-{checkpoint.seq:012d}-{stamp}.json"
    text = json.dumps(checkpoint.to_json_dict(), indent=2) + "\n"
    try:
        # Written whole, then renamed: a scraper never reads half a checkpoint.
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        raise CheckpointError(str(target), f"cannot write: {exc.strerror or exc}") from None
    return target


def read_checkpoints(path: Path) -> list[tuple[str, Checkpoint]]:
    """The checkpoints in a file, or in every *.json file of a folder, by name."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise CheckpointError(str(path), "no checkpoint files (*.json) in this folder")
    found = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CheckpointError(str(file), f"cannot read: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise CheckpointError(str(file), f"not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise CheckpointError(str(file), f"not a checkpoint (schema {SCHEMA})")
        try:
            checkpoint = Checkpoint.model_validate({k: v for k, v in data.items() if k != "schema"})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CheckpointError(str(file), f"{where}: {first['msg']}") from None
        found.append((str(file), checkpoint))
    return found


def trusted_anchors(found: list[tuple[str, Checkpoint]], key: Ed25519PublicKey) -> list[Anchor]:
    """The checkpoints whose signatures verify with `key`; any other is an error naming it."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415

    expected = key_id(key)
    anchors = []
    for name, checkpoint in found:
        if checkpoint.key_id != expected:
            raise CheckpointError(
                name, f"signed with key {checkpoint.key_id}, not the trusted key {expected}"
            )
        try:
            key.verify(
                base64.b64decode(checkpoint.signature, validate=True), checkpoint.statement()
            )
        except (InvalidSignature, ValueError):
            raise CheckpointError(
                name, "signature does not verify: the checkpoint was altered or forged"
            ) from None
        anchors.append(
            Anchor(seq=checkpoint.seq, hash=checkpoint.hash, name=_named(name, checkpoint))
        )
    return anchors


def _named(name: str, checkpoint: Checkpoint) -> str:
    return f"{Path(name).name} (seq {checkpoint.seq}, signed {checkpoint.created_at})"
