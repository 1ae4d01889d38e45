"""The rule registry: what every rule commander reports means and how to fix it.

The entries live in `rulebook.yaml` beside this module, one per rule id (or
per family, `scope.category.*`, whose last part comes from configuration).
SARIF's rule metadata and the rule reference `docs/rules.md` are generated
from them, so the text a code-scanning alert shows and the page it links to
never drift apart.

Lookup: an exact id first, then the longest family prefix; `describe` falls
back to the catch-all entries (`open`) that cover rules a user's own
configuration names, `lookup` does not (a test holds every rule the shipped
code emits to a real entry).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Final, Literal

from pydantic import Field

from orchestrator.models import Frozen
from orchestrator.yamlfile import parse_yaml

# Where the project and its rule reference are published; SARIF wants absolute URIs.
PROJECT_URL = "https://github.com/commander-dev/commander"
RULES_URL = f"{PROJECT_URL}/blob/main/docs/rules.md"
_WILDCARD_ENDS = (".*", ":*", "-*")
_WORD = re.compile(r"[A-Za-z0-9]+")
# GitHub's heading anchors: lower case, punctuation but - and _ dropped, spaces to -.
_ANCHOR_DROP = re.compile(r"[^\w\- ]")


class RuleDoc(Frozen):
    """One registry entry."""

    id: str = Field(min_length=1)
    reviewer: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    description: str = Field(min_length=1)
    fix: str = Field(min_length=1)
    open: bool = False

    @property
    def family(self) -> bool:
        """Whether the entry covers a family of ids (`prefix.*`) rather than one."""
        return self.id == "*" or self.id.endswith(_WILDCARD_ENDS)

    @property
    def kind(self) -> Literal["finding", "decision"]:
        """Findings come from reviewers; decision rules from the commander's aggregation."""
        return "decision" if self.reviewer == "commander" else "finding"

    @property
    def anchor(self) -> str:
        """The anchor of the entry's heading in docs/rules.md."""
        return _ANCHOR_DROP.sub("", self.id.lower()).replace(" ", "-") or "other-rules"

    @property
    def help_uri(self) -> str:
        """The entry's place in the published rule reference."""
        return f"{RULES_URL}#{self.anchor}"

    def matches(self, rule_id: str) -> bool:
        """Whether this entry describes `rule_id`."""
        if not self.family:
            return rule_id == self.id
        return rule_id.startswith(self.id[:-1]) and len(rule_id) > len(self.id) - 1


class Rulebook:
    """Every entry of the registry, looked up by rule id."""

    def __init__(self, entries: list[RuleDoc]) -> None:
        self.entries = tuple(entries)
        self._exact = {e.id: e for e in entries if not e.family}
        # longest prefix first: `scope.category.*` before a catch-all `*`
        self._families = sorted(
            (e for e in entries if e.family), key=lambda e: len(e.id), reverse=True
        )

    @classmethod
    def from_text(cls, text: str, origin: str) -> Rulebook:
        """Parse the registry's YAML; a duplicate or malformed entry is an error naming it."""
        raw = parse_yaml(text, origin)
        if not isinstance(raw, list):
            raise ValueError(f"{origin}: expected a list of rule entries")
        entries: list[RuleDoc] = []
        seen: set[str] = set()
        for number, item in enumerate(raw, start=1):
            entry = RuleDoc.model_validate(item)
            if entry.id in seen:
                raise ValueError(f"{origin}: entry {number}: rule {entry.id!r} is listed twice")
            seen.add(entry.id)
            entries.append(entry)
        return cls(entries)

    def lookup(self, rule_id: str) -> RuleDoc | None:
        """The entry for `rule_id`, not counting the catch-alls for user-configured rules."""
        found = self._find(rule_id)
        return None if found is None or found.open else found

    def describe(self, rule_id: str) -> RuleDoc:
        """The entry for `rule_id`, a catch-all when it is a rule of the user's own."""
        found = self._find(rule_id)
        if found is None:
            raise KeyError(f"no rule entry covers {rule_id!r}; the catch-all '*' is missing")
        return found

    def _find(self, rule_id: str) -> RuleDoc | None:
        exact = self._exact.get(rule_id)
        if exact is not None:
            return exact
        return next((e for e in self._families if e.matches(rule_id)), None)


def sarif_name(rule_id: str) -> str:
    """The PascalCase name SARIF recommends: `blast-radius.fan-out` → BlastRadiusFanOut."""
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(rule_id)) or "Rule"


_SQL_GROUPS: Final = {
    "lock": "It stalls queries on the table while it runs.",
    "data": "It loses rows or values that no rollback brings back.",
    "compatibility": "It breaks clients still running against the old schema, or fails the "
    "migration.",
    "access": "It changes who can see or change what.",
    "transaction": "The migration's transactions do not do what they seem to.",
    "unreadable": "commander could not read it, so nothing vouches for what it does.",
    "advice": "A robustness or type choice a migration linter reports; it alone does not make "
    "a migration unsafe.",
}


def _sql_hazard_entries() -> list[RuleDoc]:
    """One entry per SQL hazard kind, written from the hazard catalogue (its one home)."""
    from orchestrator.analysis.sql_catalogue import KINDS  # noqa: PLC0415 - only for rule docs

    return [
        RuleDoc(
            id=f"scope.sql.{kind.id}",
            reviewer="scope",
            summary=kind.summary,
            description=" ".join(
                [_SQL_GROUPS[kind.group]]
                + ([f"Squawk's rules: {', '.join(kind.squawk)}."] if kind.squawk else [])
            ),
            fix=f"Instead: {kind.instead}.",
        )
        for kind in KINDS.values()
    ]


def _access_entries() -> list[RuleDoc]:
    """One entry per IAM and exposure kind and family, from the analyser's own words."""
    from orchestrator.analysis.access import DESCRIPTIONS, FIXES  # noqa: PLC0415 - rule docs only

    return [
        RuleDoc(
            id=f"scope.{family}.{kind.value}",
            reviewer="scope",
            summary=f"A change {text}",
            description=f"What the {'IAM' if family == 'iam' else 'network'} content of the "
            f"change grants or exposes, read from the plan's values or the diff's HCL and "
            f"compared before and after; its tier is `access_tiers` in "
            f"configs/reviewers/scope.yaml, the same in every environment.",
            fix=FIXES[kind],
        )
        for family in ("iam", "exposure")
        for kind, text in DESCRIPTIONS.items()
    ]


def _pod_security_entries() -> list[RuleDoc]:
    """One entry per control of the Pod Security Standards, from the analyser's own table."""
    from orchestrator.analysis.pod_security_checks import CONTROLS  # noqa: PLC0415 - docs only

    return [
        RuleDoc(
            id=f"scope.kubernetes.pss.{key}",
            reviewer="scope",
            summary=f"A pod breaks the {control.level.value} Pod Security control "
            f"{control.title}",
            description=f"The Pod Security Standards' {control.level.value} level requires: "
            f"{control.requirement}. Tiers (`pod_security` in configs/reviewers/scope.yaml) hold "
            "in every environment: baseline at least high, restricted-only evidence at medium, "
            "an escape onto the node critical.",
            fix=f"Change the pod so that {control.requirement}; or, where the workload truly "
            "needs it, run it in a namespace held to a lower level (an exemption recorded in "
            "the decision).",
        )
        for key, control in CONTROLS.items()
    ]


@cache
def rulebook() -> Rulebook:
    """The shipped registry, read once per process, with the analysers' catalogues' entries."""
    text = resources.files("orchestrator").joinpath("rulebook.yaml").read_text(encoding="utf-8")
    shipped = Rulebook.from_text(text, "orchestrator/rulebook.yaml")
    return Rulebook(
        [*shipped.entries, *_sql_hazard_entries(), *_access_entries(), *_pod_security_entries()]
    )
