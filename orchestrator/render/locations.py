"""Where a finding is written: repository-relative files and lines for SARIF, JUnit, GitHub.

In order, a finding's place is: the locations the reviewer gave it (a diff's
hunk line, a Kubernetes object's field, a SQL statement); the location of
each resource it names (`ResourceChange.location`); the Terraform block of
each resource (`Sources.terraform`, from `--source-dir`); else the reviewed
input file itself, without a line. A location without a path is in the
reviewed input, so it takes the input's path.

Every path is relative to the repository root (`Sources.root`: `--source-root`,
by default the working directory), because code scanning and workflow
annotations only place what is in the repository. The service cannot see the
runner's files: CI tells it the input's path in the repository instead
(`?path=`, `Sources.input_path`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from orchestrator.models import Finding, Proposal, SourceLocation

if TYPE_CHECKING:
    from orchestrator.adapters.terraform_source import TerraformSources

STDIN_NAMES = frozenset({"", "-", "<stdin>"})
# Places listed per finding: the first is where an alert sits, the rest are related.
MAX_PLACES = 10


@dataclass(frozen=True)
class Sources:
    """What the outputs with lines know about where the input and its resources are written."""

    root: Path | None = None
    input_path: str | None = None
    terraform: TerraformSources | None = None

    def base(self) -> Path:
        """The repository root that paths are relative to."""
        return self.root or Path.cwd()


@dataclass(frozen=True)
class Place:
    """A file in the repository (`path`, POSIX, relative) and optionally a line range.

    `path` is None when the input has no file (standard input); `external` when
    the file lies outside the repository (then `path` is absolute).
    """

    path: str | None
    line: int | None = None
    end_line: int | None = None
    external: bool = False

    @property
    def uri(self) -> str:
        """The path as a URI reference (percent-encoded; a file URI outside the repository)."""
        if self.path is None:
            return "stdin"
        if self.external:
            return Path(self.path).as_uri()
        return quote(self.path, safe="/")


def input_place(proposal: Proposal, sources: Sources) -> Place:
    """The reviewed input file as a place in the repository."""
    if sources.input_path is not None:
        return _place(sources.input_path, sources.base())
    if proposal.input_name.strip() in STDIN_NAMES:
        return Place(None)
    name = Path(proposal.input_name)
    if sources.root is not None and not name.is_absolute():
        # a path as given on this machine's command line: relative to where it ran
        name = Path.cwd() / name
    return _place(str(name), sources.base())


def repository_path(name: str, sources: Sources) -> str:
    """A file name as the reports show it: relative to the repository when inside it."""
    return _place(name, sources.base()).path or name


def places(finding: Finding, proposal: Proposal, sources: Sources) -> list[Place]:
    """Where `finding` is written, best first, without repeats; at least the input file."""
    found = list(dict.fromkeys(_candidates(finding, proposal, sources)))
    return found[:MAX_PLACES] or [input_place(proposal, sources)]


def _candidates(finding: Finding, proposal: Proposal, sources: Sources) -> Iterator[Place]:
    for location in finding.locations:
        yield _located(location, proposal, sources)
    if not finding.resources:
        return
    by_address = {c.address: c.location for c in proposal.changes if c.location is not None}
    terraform = sources.terraform if proposal.kind == "terraform" else None
    for address in finding.resources:
        written = by_address.get(address)
        if written is None and terraform is not None:
            written = terraform.locate(address)
        if written is not None:
            yield _located(written, proposal, sources)


def _located(location: SourceLocation, proposal: Proposal, sources: Sources) -> Place:
    if location.path is None:
        where = input_place(proposal, sources)
    else:
        where = _place(location.path, sources.base())
    end = location.end_line if location.end_line and location.line else None
    return Place(where.path, location.line, end, where.external)


def _place(name: str, base: Path) -> Place:
    path = Path(name.replace("\\", "/"))
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(base.resolve())
        except ValueError:
            return Place(path.as_posix(), external=True)
    posix = PurePosixPath(path.as_posix())
    return Place(str(posix).removeprefix("./"))


@dataclass
class Locating:
    """The `--source-root` and `--source-dir` of one command, turned into `Sources` per input.

    A named `--source-dir` is scanned at once (`from_flags`), so a broken file
    fails before anything is reviewed or recorded. Without it, the working
    directory is the configuration when it holds `*.tf` files; it is scanned
    only when a plan is shown, and a file that does not parse there is a
    warning (the locations then come from the plan file), never a failure.
    """

    root: Path
    folder: Path | None
    terraform: TerraformSources | None = None
    tried: bool = False

    @classmethod
    def from_flags(cls, source_root: str | None, source_dir: str | None) -> Locating:
        """Check the flags and scan a named `--source-dir`."""
        from orchestrator.adapters.terraform_source import TerraformSources  # noqa: PLC0415
        from orchestrator.errors import UsageError  # noqa: PLC0415

        root = Path(source_root) if source_root is not None else Path.cwd()
        if not root.is_dir():
            raise UsageError(f"--source-root {source_root}: not a directory")
        if source_dir is None:
            here = Path.cwd()
            return cls(root=root, folder=here if any(here.glob("*.tf")) else None)
        folder = Path(source_dir)
        if not folder.is_dir():
            raise UsageError(f"--source-dir {source_dir}: not a directory")
        scanned = TerraformSources.scan(folder, root)
        return cls(root=root, folder=folder, terraform=scanned, tried=True)

    def sources(self, proposal: Proposal, warn: Callable[[str], None]) -> Sources:
        """Where `proposal`'s input and resources are written."""
        if proposal.kind == "terraform" and not self.tried and self.folder is not None:
            from orchestrator.adapters.terraform_source import TerraformSources  # noqa: PLC0415
            from orchestrator.errors import InputError  # noqa: PLC0415

            self.tried = True
            try:
                self.terraform = TerraformSources.scan(self.folder, self.root)
            except InputError as exc:
                warn(f"{exc}; results point at the plan file instead")
        return Sources(root=self.root, terraform=self.terraform)
