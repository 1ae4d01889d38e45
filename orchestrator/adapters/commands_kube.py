"""kubectl and helm as changes.

* `kubectl delete` by name, `-f` (the manifests' deletion), selector, `--all`
  or `-A`: a selector that is empty, `--all` and `-A` select every object of
  the kind (the population guard); `apply/create/replace -f` reviews the
  manifests; `scale`, `drain`, `cordon`, `patch`, `rollout restart/undo`,
  `label`, `set` ... update the named objects.
* `helm uninstall` deletes a release; `upgrade`, `install`, `rollback` change it.
"""

from __future__ import annotations

from typing import Final

from orchestrator.adapters.commands_args import has_flag, option_values, positionals
from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    READ_ONLY,
    Delegate,
    Effect,
    Interpreter,
    Scene,
    Touch,
    changed,
    unknown,
)
from orchestrator.adapters.commands_words import SimpleCommand, join_path

_KUBE_VALUE_FLAGS: Final = frozenset(
    {
        "-n",
        "--namespace",
        "--context",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "--kubeconfig",
        "--token",
        "-l",
        "--selector",
        "-f",
        "--filename",
        "-o",
        "--output",
        "--field-selector",
        "-c",
        "--container",
        "--type",
        "-p",
        "--patch",
        "--replicas",
        "--timeout",
        "--grace-period",
        "--cascade",
        "-k",
        "--kustomize",
        "--as",
        "--as-group",
        "--image",
        "--current-replicas",
        "--resource-version",
        "--pod-selector",
        "--to-revision",
        "-L",
        "--dry-run",
        "--patch-file",
        "--subresource",
        "--field-manager",
        "--chunk-size",
    }
)
_KUBE_UPDATES: Final = (
    "scale",
    "drain",
    "cordon",
    "uncordon",
    "patch",
    "label",
    "annotate",
    "set",
    "taint",
    "edit",
    "autoscale",
    "expose",
    "rollout",
    "run",
    "certificate",
    "cp",
    "replace",
)


def _kubectl(command: SimpleCommand, scene: Scene) -> Effect:
    args = command.args
    words = positionals(args, _KUBE_VALUE_FLAGS)
    if not words:
        return Effect(READ_ONLY, command.text, command.line)
    dry = list(option_values(args, frozenset({"--dry-run"}))) or (
        [""] if has_flag(args, "--dry-run") else []
    )
    if dry and all(v != "none" for v in dry):
        return Effect(READ_ONLY, command.text, command.line)
    if any(matches_words(g, words) for g in scene.catalog.tool_list("kubectl", "read_only")):
        return Effect(READ_ONLY, command.text, command.line)
    verb, rest = words[0], words[1:]
    namespace = (option_values(args, frozenset({"-n", "--namespace"})) or ["default"])[-1] or "?"
    every_namespace = has_flag(args, "-A", "--all-namespaces")
    files = list(option_values(args, frozenset({"-f", "--filename"})))
    facts: tuple[tuple[str, str], ...] = (("command", command.text),)
    if context := option_values(args, frozenset({"--context"})):
        facts += (("context", context[-1] or "?"),)
    if verb in ("exec", "attach", "debug"):
        return unknown(command, f"command.remote-exec: kubectl {verb} runs commands inside a pod")
    if verb in ("apply", "create", "replace") and (files or has_flag(args, "-k", "--kustomize")):
        if not files:
            return unknown(
                command,
                "command.kustomize: kubectl -k renders manifests nobody "
                "reviewed; review `kubectl kustomize` output instead",
            )
        return changed(
            command,
            delegates=tuple(_manifest(f, command, scene, delete=False) for f in files),
        )
    if verb == "delete":
        if files:
            return changed(
                command,
                delegates=tuple(_manifest(f, command, scene, delete=True) for f in files),
            )
        return _kube_targets(
            command,
            scene,
            rest,
            "delete",
            namespace=namespace,
            every_namespace=every_namespace,
            facts=facts,
        )
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
            return changed(
                command,
                touches=(
                    Touch(
                        "Pod",
                        f"{namespace}/Pod/{rest[0] if rest else '?'}",
                        "create",
                        namespace=namespace,
                        facts=facts,
                    ),
                ),
            )
        return _kube_targets(
            command,
            scene,
            rest,
            "update",
            namespace=namespace,
            every_namespace=every_namespace,
            facts=facts,
        )
    return unknown(command, f"command.unknown: kubectl {verb} is not understood")


def _kube_targets(
    command: SimpleCommand,
    scene: Scene,
    rest: list[str],
    action: str,
    *,
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
        touches.append(_kube_touch(kind, name, action, scene, namespace=namespace, facts=facts))
    if not names or selectors or everything:
        scope = "every namespace" if every_namespace else f"namespace {namespace}"
        for kind in kinds or sorted({k for k, _ in names}):
            what = "every" if everything else "the selected"
            touches.append(
                _kube_touch(
                    kind,
                    "*",
                    action,
                    scene,
                    namespace="*" if every_namespace else namespace,
                    facts=(*facts, ("selector", ",".join(s or "" for s in selectors))),
                )
            )
            if everything:
                notes.append(
                    f"command.selects-everything: kubectl {action} selects {what} "
                    f"{kind} in {scope} (an empty selector, --all or -A): the "
                    "population guard"
                )
            elif not names:
                notes.append(
                    f"command.selector: kubectl {action} of {kind} by selector "
                    f"{','.join(s or '' for s in selectors)!r} in {scope}: which "
                    "objects it selects is known only when it runs"
                )
    return changed(command, touches=tuple(touches), notes=tuple(notes))


def _kind(word: str, scene: Scene) -> str:
    lowered = word.lower().split(".", 1)[0]
    found = scene.catalog.kinds.get(lowered) or scene.catalog.kinds.get(lowered.rstrip("s"))
    return found or (word[:1].upper() + word[1:])


def _kube_touch(
    kind: str,
    name: str,
    action: str,
    scene: Scene,
    *,
    namespace: str,
    facts: tuple[tuple[str, str], ...],
) -> Touch:
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

_HELM_VALUE_FLAGS: Final = frozenset(
    {
        "-n",
        "--namespace",
        "--kube-context",
        "-f",
        "--values",
        "--set",
        "--set-string",
        "--set-file",
        "--version",
        "--timeout",
        "-o",
        "--output",
        "--repo",
        "--revision",
        "--kubeconfig",
        "--description",
        "--post-renderer",
    }
)


def _helm(command: SimpleCommand, scene: Scene) -> Effect:
    words = positionals(command.args, _HELM_VALUE_FLAGS)
    if not words or any(
        matches_words(g, words) for g in scene.catalog.tool_list("helm", "read_only")
    ):
        return Effect(READ_ONLY, command.text, command.line)
    if has_flag(command.args, "--dry-run"):
        return Effect(READ_ONLY, command.text, command.line)
    verb, rest = words[0], words[1:]
    namespaces = option_values(command.args, frozenset({"-n", "--namespace"})) or ["default"]
    namespace = namespaces[-1] or "?"
    actions = {
        "uninstall": "delete",
        "delete": "delete",
        "del": "delete",
        "un": "delete",
        "upgrade": "update",
        "rollback": "update",
        "install": "create",
    }
    action = actions.get(verb)
    if action is None:
        return unknown(command, f"command.unknown: helm {verb} is not understood")
    if verb == "upgrade" and has_flag(command.args, "-i", "--install"):
        action = "update"
    facts = (("command", command.text),)
    releases = rest[:1] if verb in ("upgrade", "install", "rollback") else rest
    return changed(
        command,
        touches=tuple(
            Touch(
                "helm_release",
                f"{namespace}/helm_release/{r}",
                action,
                namespace=namespace,
                facts=facts,
            )
            for r in releases or ["?"]
        ),
    )


INTERPRETERS: Final[dict[str, Interpreter]] = {"kubectl": _kubectl, "helm": _helm}
