"""Infrastructure tools as changes: terraform and tofu, kubectl, helm.

* `terraform apply PLANFILE` reviews that plan (the terraform adapter, on
  `terraform show -json PLANFILE`); `apply` without one is an "unreviewed
  apply" (or, configured `plan-first`, is planned first); `destroy` destroys
  its `-target`s or the whole workspace; `state rm` forgets, `state mv`
  moves, `import` adopts, `workspace delete` destroys a workspace's state.
* `kubectl delete` by name, `-f` (the manifests' deletion), selector, `--all`
  or `-A`: a selector that is empty, `--all` and `-A` select every object of
  the kind (the population guard); `apply/create/replace -f` reviews the
  manifests; `scale`, `drain`, `cordon`, `patch`, `rollout restart/undo`,
  `label`, `set` ... update the named objects.
* `helm uninstall` deletes a release; `upgrade`, `install`, `rollback` change it.
"""

from __future__ import annotations

import re
from typing import Final

from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    CHANGE,
    LOCAL,
    READ_ONLY,
    Delegate,
    Effect,
    Interpreter,
    Scene,
    Touch,
    has_flag,
    option_values,
    positionals,
    unknown,
)
from orchestrator.adapters.commands_shell import SimpleCommand, join_path

_TF_VALUE_FLAGS: Final = frozenset({"-chdir", "-var", "-var-file", "-target", "-state",
                                    "-state-out", "-backup", "-lock-timeout", "-parallelism",
                                    "-replace", "-out"})  # fmt: skip
_ADDRESS_TYPE: Final = re.compile(r"^(?:module\.[^.\[]+(?:\[[^\]]*\])?\.)*(?:data\.)?([A-Za-z0-9_-]+)\.")


def _terraform(command: SimpleCommand, scene: Scene) -> Effect:
    program = command.name or "terraform"
    args = [w for w in command.args]
    chdir = next((v for v in option_values(command.args, frozenset({"-chdir"})) if v), None)
    words = positionals([w for w in args if not (w.value or "").startswith("-chdir")],
                        frozenset())  # fmt: skip
    directory = join_path(command.cwd or scene.cwd, chdir) if chdir else (command.cwd or scene.cwd)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list(program, "read_only")):
        return Effect(LOCAL if words[0] in ("init", "fmt", "plan", "get") else READ_ONLY,
                      command.text, command.line)  # fmt: skip
    verb = words[0]
    targets = [t for t in option_values(command.args, frozenset({"-target"})) if t]
    workspace = f"terraform:{directory}"
    facts = (("command", command.text), ("directory", directory))
    if has_flag(command.args, "-auto-approve"):
        facts += (("auto_approve", "true"),)
    if verb == "apply" and has_flag(command.args, "-destroy"):
        verb = "destroy"
    if verb == "apply":
        plan = next((w for w in _tf_positionals(command) [1:]), None)
        if plan is not None:
            return Effect(CHANGE, command.text, command.line, delegates=(
                Delegate("terraform-plan", path=join_path(directory, plan), program=program),))
        if scene.catalog.unreviewed_apply == "plan-first":
            passed = tuple(w.value or "" for w in command.args
                           if (w.value or "").startswith(("-var", "-target", "-replace")))
            return Effect(CHANGE, command.text, command.line, delegates=(
                Delegate("terraform-plan", path=directory, program=program, args=passed),))
        return Effect(
            CHANGE, command.text, command.line,
            touches=(Touch("terraform_workspace", workspace, "update", facts=facts),),
            notes=(f"command.unreviewed-apply: {program} apply without a saved plan in "
                   f"{directory}: nobody has seen what it will change",),
        )  # fmt: skip
    if verb == "destroy":
        if targets:
            touches = tuple(Touch(address_type(t), t, "delete", facts=facts) for t in targets)
            return Effect(CHANGE, command.text, command.line, touches=touches)
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("terraform_workspace", workspace + ":*", "delete", facts=facts),),
            reason=f"destroys every resource of the workspace in {directory}")  # fmt: skip
    rest = words[1:]
    if verb == "state" and rest[:1] == ["rm"]:
        return Effect(CHANGE, command.text, command.line, touches=tuple(
            Touch(address_type(a), a, "forget", facts=facts) for a in rest[1:]))
    if verb == "state" and rest[:1] == ["mv"] and len(rest) >= 3:
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch(address_type(rest[2]), rest[2], "update", previous_address=rest[1],
                  facts=facts),))  # fmt: skip
    if verb == "state" and rest[:1] in (["push"], ["replace-provider"]):
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("terraform_state", workspace, "update", facts=facts),))
    if verb == "import" and rest:
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch(address_type(rest[0]), rest[0], "update", importing=True, facts=facts),))
    if verb in ("taint", "untaint") and rest:
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch(address_type(rest[0]), rest[0], "update", facts=facts),))
    if verb == "workspace" and rest[:1] == ["delete"]:
        name = rest[1] if len(rest) > 1 else "?"
        return Effect(CHANGE, command.text, command.line, touches=(
            Touch("terraform_workspace", f"terraform:{directory}:{name}", "delete", facts=facts),))
    if verb == "workspace" and rest[:1] == ["new"]:
        return Effect(LOCAL, command.text, command.line)
    return unknown(command, f"command.unknown: {program} {verb} is not understood")


def _tf_positionals(command: SimpleCommand) -> list[str]:
    out, skip = [], False
    for word in command.args:
        value = word.value
        if skip:
            skip = False
            continue
        if value is None:
            out.append("?")
        elif value.startswith("-"):
            skip = value in _TF_VALUE_FLAGS  # `-var x=1`; `-var=x=1` holds its value
        else:
            out.append(value)
    return out


def address_type(address: str) -> str:
    """The resource type in a Terraform address (`module.a.aws_s3_bucket.b["k"]`)."""
    match = _ADDRESS_TYPE.match(address)
    if match is None or (address.startswith("module.") and match.group(1) == address.split(".")[1]):
        return "terraform_module"
    return match.group(1)


# --- kubectl --------------------------------------------------------------------------------

_KUBE_VALUE_FLAGS: Final = frozenset({
    "-n", "--namespace", "--context", "--cluster", "--user", "-s", "--server", "--kubeconfig",
    "--token", "-l", "--selector", "-f", "--filename", "-o", "--output", "--field-selector",
    "-c", "--container", "--type", "-p", "--patch", "--replicas", "--timeout",
    "--grace-period", "--cascade", "-k", "--kustomize", "--as", "--as-group", "--image",
    "--current-replicas", "--resource-version", "--pod-selector", "--to-revision", "-L",
    "--dry-run", "--patch-file", "--subresource", "--field-manager", "--chunk-size",
})  # fmt: skip
_KUBE_UPDATES: Final = ("scale", "drain", "cordon", "uncordon", "patch", "label", "annotate",
                        "set", "taint", "edit", "autoscale", "expose", "rollout", "run",
                        "certificate", "cp", "replace")  # fmt: skip


def _kubectl(command: SimpleCommand, scene: Scene) -> Effect:
    args = command.args
    words = positionals(args, _KUBE_VALUE_FLAGS)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    dry = [v for v in option_values(args, frozenset({"--dry-run"}))] or (
        [""] if has_flag(args, "--dry-run") else [])  # fmt: skip
    if dry and all(v != "none" for v in dry):
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list("kubectl", "read_only")):
        return Effect(READ_ONLY, command.text, command.line)
    verb, rest = words[0], words[1:]
    namespace = (option_values(args, frozenset({"-n", "--namespace"})) or ["default"])[-1]
    every_namespace = has_flag(args, "-A", "--all-namespaces")
    files = [f for f in option_values(args, frozenset({"-f", "--filename"}))]
    facts: tuple[tuple[str, str], ...] = (("command", command.text),)
    if context := option_values(args, frozenset({"--context"})):
        facts += (("context", context[-1] or "?"),)
    if verb in ("exec", "attach", "debug"):
        return unknown(command, f"command.remote-exec: kubectl {verb} runs commands inside a pod")
    if verb in ("apply", "create", "replace") and (files or has_flag(args, "-k", "--kustomize")):
        if not files:
            return unknown(command, "command.kustomize: kubectl -k renders manifests nobody "
                           "reviewed; review `kubectl kustomize` output instead")  # fmt: skip
        return Effect(CHANGE, command.text, command.line,
                      delegates=tuple(_manifest(f, command, scene, delete=False) for f in files))
    if verb == "delete":
        if files:
            return Effect(CHANGE, command.text, command.line,
                          delegates=tuple(_manifest(f, command, scene, delete=True) for f in files))
        return _kube_targets(command, scene, rest, "delete", namespace, every_namespace, facts)
    if verb in _KUBE_UPDATES:
        if verb == "rollout" and rest[:1] in (["status"], ["history"]):
            return Effect(READ_ONLY, command.text, command.line)
        if verb in ("rollout", "set", "certificate"):
            rest = rest[1:]
        if verb in ("drain", "cordon", "uncordon", "taint"):
            rest = ["node", *rest] if rest and rest[0] not in ("node", "nodes", "no") else rest
        if verb == "scale":
            replicas = option_values(args, frozenset({"--replicas"}))
            facts += (("replicas", replicas[-1] or "?"),) if replicas else ()
        if verb == "drain":
            facts += (("evicts", "every pod on the node"),)
        if verb == "run":
            return Effect(CHANGE, command.text, command.line, touches=(Touch(
                "Pod", f"{namespace}/Pod/{rest[0] if rest else '?'}", "create",
                namespace=namespace, facts=facts),))  # fmt: skip
        return _kube_targets(command, scene, rest, "update", namespace, every_namespace, facts)
    return unknown(command, f"command.unknown: kubectl {verb} is not understood")


def _kube_targets(
    command: SimpleCommand,
    scene: Scene,
    rest: list[str],
    action: str,
    namespace: str,
    every_namespace: bool,
    facts: tuple[tuple[str, str], ...],
) -> Effect:
    args = command.args
    selectors = option_values(args, frozenset({"-l", "--selector", "--field-selector"}))
    everything = has_flag(args, "--all") or every_namespace or any(not s for s in selectors)
    kinds: list[str] = []
    names: list[tuple[str, str]] = []
    for word in rest:
        if "/" in word:
            kind, _, name = word.partition("/")
            names.append((_kind(kind, scene), name))
        elif not kinds:
            kinds = [_kind(k, scene) for k in word.split(",")]
        else:
            names.extend((k, word) for k in kinds)
    if not kinds and not names:
        return unknown(command, "command.unknown: kubectl without a resource kind")
    notes: list[str] = []
    touches = []
    for kind, name in names:
        touches.append(_kube_touch(kind, name, namespace, action, scene, facts))
    if not names or selectors or everything:
        scope = "every namespace" if every_namespace else f"namespace {namespace}"
        for kind in kinds or sorted({k for k, _ in names}):
            what = "every" if everything else "the selected"
            touches.append(_kube_touch(kind, "*", "*" if every_namespace else namespace, action,
                                       scene, facts + (("selector", ",".join(s or "" for s in
                                                                              selectors)),)))  # fmt: skip
            if everything:
                notes.append(f"command.selects-everything: kubectl {action} selects {what} "
                             f"{kind} in {scope} (an empty selector, --all or -A): the "
                             "population guard")  # fmt: skip
            elif not names:
                notes.append(f"command.selector: kubectl {action} of {kind} by selector "
                             f"{','.join(s or '' for s in selectors)!r} in {scope}: which "
                             "objects it selects is known only when it runs")  # fmt: skip
    return Effect(CHANGE, command.text, command.line, touches=tuple(touches), notes=tuple(notes))


def _kind(word: str, scene: Scene) -> str:
    lowered = word.lower().split(".", 1)[0]
    found = scene.catalog.kinds.get(lowered) or scene.catalog.kinds.get(lowered.rstrip("s"))
    return found or (word[:1].upper() + word[1:])


def _kube_touch(
    kind: str, name: str, namespace: str, action: str, scene: Scene,
    facts: tuple[tuple[str, str], ...],
) -> Touch:  # fmt: skip
    if kind in scene.catalog.cluster_scoped:
        return Touch(kind, f"{kind}/{name}", action, facts=facts)
    return Touch(kind, f"{namespace}/{kind}/{name}", action, namespace=namespace, facts=facts)


def _manifest(path: str | None, command: SimpleCommand, scene: Scene, *, delete: bool) -> Delegate:
    if path == "-":
        return Delegate("kubernetes", text=command.stdin, path="<stdin>", delete=delete)
    if path is None:
        return Delegate("kubernetes", text=None, path=None, delete=delete)
    if path.startswith(("http://", "https://")):
        return Delegate("kubernetes", text=None, path=path, delete=delete)
    return Delegate("kubernetes", path=join_path(command.cwd or scene.cwd, path), delete=delete)


# --- helm -----------------------------------------------------------------------------------

_HELM_VALUE_FLAGS: Final = frozenset({"-n", "--namespace", "--kube-context", "-f", "--values",
                                      "--set", "--set-string", "--set-file", "--version",
                                      "--timeout", "-o", "--output", "--repo", "--revision",
                                      "--kubeconfig", "--description", "--post-renderer"})  # fmt: skip


def _helm(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, _HELM_VALUE_FLAGS)
    if not words or any(matches_words(g, words) for g in scene.catalog.tool_list("helm", "read_only")):
        return Effect(READ_ONLY, command.text, command.line)
    if has_flag(command.args, "--dry-run"):
        return Effect(READ_ONLY, command.text, command.line)
    verb, rest = words[0], words[1:]
    namespace = (option_values(command.args, frozenset({"-n", "--namespace"})) or ["default"])[-1]
    actions = {"uninstall": "delete", "delete": "delete", "del": "delete", "un": "delete",
               "upgrade": "update", "rollback": "update", "install": "create"}  # fmt: skip
    action = actions.get(verb)
    if action is None:
        return unknown(command, f"command.unknown: helm {verb} is not understood")
    if verb == "upgrade" and has_flag(command.args, "-i", "--install"):
        action = "update"
    facts = (("command", command.text),)
    releases = rest[:1] if verb in ("upgrade", "install", "rollback") else rest
    return Effect(CHANGE, command.text, command.line, touches=tuple(
        Touch("helm_release", f"{namespace}/helm_release/{r}", action, namespace=namespace,
              facts=facts) for r in releases or ["?"]))  # fmt: skip


INTERPRETERS: Final[dict[str, Interpreter]] = {
    "terraform": _terraform,
    "tofu": _terraform,
    "kubectl": _kubectl,
    "helm": _helm,
}
