"""terraform and tofu as changes.

* `apply PLANFILE` reviews that plan (the terraform adapter, on
  `terraform show -json PLANFILE`); `apply` without one is an "unreviewed
  apply" (or, configured `plan-first`, is planned first).
* `destroy` destroys its `-target`s or the whole workspace; `state rm`
  forgets, `state mv` moves, `import` adopts, `workspace delete` destroys a
  workspace's state.
"""

from __future__ import annotations

import re
from typing import Final

from orchestrator.adapters.commands_args import has_flag, option_values, positionals
from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    LOCAL,
    READ_ONLY,
    Delegate,
    Effect,
    Facts,
    Interpreter,
    Scene,
    Touch,
    changed,
    unknown,
)
from orchestrator.adapters.commands_words import SimpleCommand, join_path

_TF_VALUE_FLAGS: Final = frozenset(
    {
        "-chdir",
        "-var",
        "-var-file",
        "-target",
        "-state",
        "-state-out",
        "-backup",
        "-lock-timeout",
        "-parallelism",
        "-replace",
        "-out",
    }
)
_ADDRESS_TYPE: Final = re.compile(
    r"^(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*(?:data\.)?([A-Za-z0-9_-]+)\."
)


def _terraform(command: SimpleCommand, scene: Scene) -> Effect:
    program = command.name or "terraform"
    args = list(command.args)
    chdir = next((v for v in option_values(command.args, frozenset({"-chdir"})) if v), None)
    words = positionals([w for w in args if not (w.value or "").startswith("-chdir")], frozenset())
    directory = join_path(command.cwd or scene.cwd, chdir) if chdir else (command.cwd or scene.cwd)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list(program, "read_only")):
        return Effect(
            LOCAL if words[0] in ("init", "fmt", "plan", "get") else READ_ONLY,
            command.text,
            command.line,
        )
    verb = words[0]
    targets = [t for t in option_values(command.args, frozenset({"-target"})) if t]
    workspace = f"terraform:{directory}"
    facts: Facts = (("command", command.text), ("directory", directory))
    if has_flag(command.args, "-auto-approve"):
        facts += (("auto_approve", "true"),)
    if verb == "apply" and has_flag(command.args, "-destroy"):
        verb = "destroy"
    if verb == "apply":
        plan = next((w for w in positionals(command.args, _TF_VALUE_FLAGS)[1:]), None)
        if plan is not None:
            return changed(
                command,
                delegates=(
                    Delegate("terraform-plan", path=join_path(directory, plan), program=program),
                ),
            )
        if scene.catalog.unreviewed_apply == "plan-first":
            passed = tuple(
                w.value or ""
                for w in command.args
                if (w.value or "").startswith(("-var", "-target", "-replace"))
            )
            return changed(
                command,
                delegates=(
                    Delegate("terraform-plan", path=directory, program=program, args=passed),
                ),
            )
        return changed(
            command,
            touches=(Touch("terraform_workspace", workspace, "update", facts=facts),),
            notes=(
                f"command.unreviewed-apply: {program} apply without a saved plan in "
                f"{directory}: nobody has seen what it will change",
            ),
        )
    if verb == "destroy":
        if targets:
            touches = tuple(Touch(address_type(t), t, "delete", facts=facts) for t in targets)
            return changed(command, touches=touches)
        return changed(
            command,
            touches=(Touch("terraform_workspace", workspace + ":*", "delete", facts=facts),),
            reason=f"destroys every resource of the workspace in {directory}",
        )
    rest = words[1:]
    if verb == "state" and rest[:1] == ["rm"]:
        return changed(
            command,
            touches=tuple(Touch(address_type(a), a, "forget", facts=facts) for a in rest[1:]),
        )
    if verb == "state" and rest[:1] == ["mv"] and len(rest) >= 3:
        return changed(
            command,
            touches=(
                Touch(
                    address_type(rest[2]), rest[2], "update", previous_address=rest[1], facts=facts
                ),
            ),
        )
    if verb == "state" and rest[:1] in (["push"], ["replace-provider"]):
        return changed(
            command,
            touches=(Touch("terraform_state", workspace, "update", facts=facts),),
        )
    if verb == "import" and rest:
        return changed(
            command,
            touches=(Touch(address_type(rest[0]), rest[0], "update", importing=True, facts=facts),),
        )
    if verb in ("taint", "untaint") and rest:
        return changed(
            command,
            touches=(Touch(address_type(rest[0]), rest[0], "update", facts=facts),),
        )
    if verb == "workspace" and rest[:1] == ["delete"]:
        name = rest[1] if len(rest) > 1 else "?"
        return changed(
            command,
            touches=(
                Touch(
                    "terraform_workspace", f"terraform:{directory}:{name}", "delete", facts=facts
                ),
            ),
        )
    if verb == "workspace" and rest[:1] == ["new"]:
        return Effect(LOCAL, command.text, command.line)
    return unknown(command, f"command.unknown: {program} {verb} is not understood")


def address_type(address: str) -> str:
    """The resource type in a Terraform address (`module.a.aws_s3_bucket.b["k"]`)."""
    match = _ADDRESS_TYPE.match(address)
    if match is None or (address.startswith("module.") and match.group(1) == address.split(".")[1]):
        return "terraform_module"
    return match.group(1)


INTERPRETERS: Final[dict[str, Interpreter]] = {"terraform": _terraform, "tofu": _terraform}
