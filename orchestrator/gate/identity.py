"""What a change is: its default change id, from the change itself, never a bare file name.

A change id groups submissions: a later plan for the same change supersedes
the open escalation of an earlier one (gate/settle.py). `--change-id` names
it; without one the id is ACTOR:ENVIRONMENT:KIND:SUBJECT, the subject saying
what the change is:

  terraform   `config-…`: a digest of the plan's `configuration` (root module, module
              calls, providers) and `variables`. Planning the same configuration again
              after the state moved is the same change; an edited one is another.
  kubernetes  `apply|delete:objects-…`: a digest of the objects (namespace/Kind/name).
  diff        `REPO:paths-…`: the repository it was read in and a digest of its file paths.
  sql         `REPO:PATH`: the migration file's path in its repository (its absolute path
              outside one); read from standard input, `content-…` (its content).
  command     `content-…`.

Two unrelated changes share an id only by sharing all of that; a digest is
48 bits of SHA-256, so never by accident.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.models import Action, Proposal

_GIT_TIMEOUT_SECONDS = 5
_HEX = 12
# change ids are stored in a 500-character column; a longer path is given by its digest
_MAX_PATH = 300


@dataclass(frozen=True, kw_only=True)
class InputPlace:
    """Where a submitted input lives: its repository's name and its path there."""

    repository: str | None = None  # the repository's folder name; None outside one
    path: str | None = None  # relative to the repository, else absolute; None for stdin


def change_id_for(proposal: Proposal, given: str | None, place: InputPlace | None = None) -> str:
    """The change a submission belongs to: `given` (`--change-id`), else what the change is."""
    if given is not None and given.strip():
        return given.strip()
    subject = _subject(proposal, place or InputPlace())
    return f"{proposal.actor}:{proposal.environment.value}:{proposal.kind}:{subject}"


def locate_input(path: str, *, cwd: Path | None = None) -> InputPlace:
    """Where `path` ("-": standard input, read in `cwd`) lives: git's repository root, if any."""
    here = cwd or Path.cwd()
    if path == "-":
        root = _repository_root(here)
        return InputPlace(repository=root.name if root else None)
    file = (here / path).resolve()
    root = _repository_root(file.parent)
    if root is None:
        return InputPlace(path=file.as_posix())
    try:
        relative = file.relative_to(root).as_posix()
    except ValueError:  # a symlink out of the repository: its own place
        return InputPlace(path=file.as_posix())
    return InputPlace(repository=root.name, path=relative)


def _subject(proposal: Proposal, place: InputPlace) -> str:
    kind = proposal.kind
    if kind == "terraform":
        return "config-" + _digest(_configuration(proposal))
    addresses = sorted({change.address for change in proposal.changes})
    if kind == "kubernetes":
        deleting = bool(proposal.changes) and all(
            change.action == Action.DELETE for change in proposal.changes
        )
        return f"{'delete' if deleting else 'apply'}:objects-{_digest(addresses)}"
    if kind == "diff":
        return f"{place.repository or '-'}:paths-{_digest(addresses)}"
    if kind == "sql" and place.path is not None:
        path = place.path if len(place.path) <= _MAX_PATH else "path-" + _digest(place.path)
        return f"{place.repository}:{path}" if place.repository else path
    # Nothing names it but its content: only the same content is the same change.
    return "content-" + proposal.digest().removeprefix("sha256:")[:_HEX]


def _configuration(proposal: Proposal) -> Any:
    """The plan's configuration and variables; its changed addresses when it has neither."""
    raw = proposal.raw if isinstance(proposal.raw, dict) else {}
    configuration = raw.get("configuration")
    variables = raw.get("variables")
    root = configuration.get("root_module") if isinstance(configuration, dict) else None
    if not root and not variables:
        # A plan without configuration (removing everything): what it changes is what it is.
        return sorted({change.address for change in proposal.changes})
    return {"configuration": configuration, "variables": variables}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:_HEX]


def _repository_root(folder: Path) -> Path | None:
    """git's top level for `folder`; None outside a repository or without git."""
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = done.stdout.strip()
    return Path(top) if done.returncode == 0 and top else None
