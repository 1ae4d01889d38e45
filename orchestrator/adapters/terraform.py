"""Terraform and OpenTofu plans (`terraform show -json`, `tofu show -json`) as Proposals.

The steps, in order:

1. check the document is a plan of a format version we understand;
2. read and check every `resource_changes[]` header (`terraform_changes`);
3. read what needs no values: relations from `configuration`
   (`terraform_relations`), populations and status (`terraform_status`);
4. mask the whole document in place, in one walk: the plan's own sensitivity
   markers, secret-looking keys and credential-looking strings (`terraform_mask`);
5. build the ResourceChange models from the masked values.
"""

from __future__ import annotations

import re
from typing import Any, Final

from orchestrator.adapters.base import (
    Submission,
    expect_list,
    load_json,
    optional_str,
    type_name,
)
from orchestrator.adapters.masking import (
    DEFAULT_SENSITIVE_KEYS,
    Masker,
    Path,
    collect_marked_strings,
    format_path,
)
from orchestrator.adapters.terraform_changes import TRUSTED_DEPTH, build_change, read_change
from orchestrator.adapters.terraform_mask import plan_mirror
from orchestrator.adapters.terraform_relations import plan_relations
from orchestrator.adapters.terraform_status import plan_status, populations
from orchestrator.errors import InputError
from orchestrator.gc_control import paused_gc
from orchestrator.models import Proposal, canonical_environment

_FORMAT_VERSION: Final = re.compile(r"([0-9]+)\.([0-9]+)(?:\.[0-9]+)?")
_NEWEST_MAJOR: Final = 1
_NOT_A_PLAN: Final = "not a Terraform plan (no format_version)"


def parse_plan(
    text: str,
    origin: str,
    submission: Submission,
    *,
    document: object = None,
    sensitive_keys: tuple[str, ...] | None = None,
) -> Proposal:
    """Build the Proposal of a plan.

    `document` is the already parsed JSON of `text`, to skip parsing it twice; it
    is masked in place and becomes `Proposal.raw`.
    """
    with paused_gc():
        parsed = load_json(text, origin) if document is None else document
        try:
            return _proposal(parsed, origin, submission, sensitive_keys or DEFAULT_SENSITIVE_KEYS)
        except RecursionError:
            raise InputError(origin, "the plan is nested too deeply to review") from None


def _proposal(
    document: object, origin: str, submission: Submission, sensitive_keys: tuple[str, ...]
) -> Proposal:
    plan = _check_plan(document, origin)
    entries = plan.get("resource_changes")
    entries = [] if entries is None else expect_list(entries, origin, "resource_changes")
    headers = [read_change(item, position, origin) for position, item in enumerate(entries)]
    # Everything read from the plan is read before masking rewrites it.
    proposal = Proposal(
        kind="terraform",
        source=submission.source,
        actor=submission.actor,
        intent=submission.intent,
        environment=canonical_environment(submission.environment),
        environment_name=submission.environment or "production",
        changes=(),
        populations=populations(plan, headers, origin),
        relations=plan_relations(plan.get("configuration"), [h.address for h in headers], origin),
        status=plan_status(plan, origin),
        input_name=origin,
        format_version=plan["format_version"],
        tool_version=optional_str(plan.get("terraform_version"), origin, "terraform_version"),
    )
    mirror = plan_mirror(plan, origin)
    secrets: set[str] = set()
    collect_marked_strings(plan, mirror, secrets)
    paths: list[Path] = []
    masker = Masker(sensitive_keys, secrets=secrets)
    raw = masker.mask_in_place(plan, mirror, paths=paths)
    masked_paths = _paths_by_change(paths, len(headers))
    # The models share the masked document's values (no copy) unless one is too deep to store.
    trusted = masker.deepest <= TRUSTED_DEPTH
    changes = tuple(
        build_change(
            header,
            entries[header.position]["change"],
            masked_paths[header.position],
            origin,
            trusted=trusted,
        )
        for header in headers
    )
    # `raw` is attached without validation: it comes from json.loads, so it is JSON
    # already, and validating it would walk the whole (possibly 100 MB) plan again.
    return proposal.model_copy(update={"changes": changes, "raw": raw})


def _check_plan(document: object, origin: str) -> dict[str, Any]:
    if not isinstance(document, dict) or "format_version" not in document:
        raise InputError(origin, _NOT_A_PLAN)
    version = document["format_version"]
    if not isinstance(version, str):
        raise InputError(
            origin, f"expected a string, got {type_name(version)}", where="format_version"
        )
    match = _FORMAT_VERSION.fullmatch(version)
    if match is None:
        raise InputError(origin, f"unrecognised format_version {version!r}", where="format_version")
    if int(match[1]) > _NEWEST_MAJOR:
        raise InputError(
            origin,
            f"format_version {version} is newer than any Terraform has published (0.x, 1.x)",
        )
    if "planned_values" not in document and "resource_changes" not in document:
        if "values" in document:
            raise InputError(
                origin,
                "this is a Terraform state, not a plan: run `terraform show -json` "
                "on a saved plan file (terraform plan -out)",
            )
        raise InputError(origin, "not a Terraform plan (no planned_values or resource_changes)")
    return document


def _paths_by_change(paths: list[Path], count: int) -> list[tuple[str, ...]]:
    """Group masked paths under resource_changes[i].change.before/after by change."""
    found: list[set[str]] = [set() for _ in range(count)]
    for path in paths:
        if (
            len(path) >= 4
            and path[0] == "resource_changes"
            and path[2] == "change"
            and path[3] in ("before", "after")
            and isinstance(path[1], int)
        ):
            found[path[1]].add(format_path(path[4:]))
    return [tuple(sorted(each)) for each in found]
