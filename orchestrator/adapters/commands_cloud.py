"""Cloud CLIs as changes: aws, gcloud, az.

A verb that reads (describe, list, get, show ...) is read-only. Any other
verb changes the resource type its service and nouns name (configs/
commands.yaml `clouds`): delete, terminate, remove ... delete it; create,
run ... create it; the rest (put, attach, set-iam-policy, modify ...) update
it. The targets are the values of the CLI's id flags and positional names;
when they come from a query or a pipe (`$(aws ... describe)`, `xargs`) or a
filter is empty, nobody can see which resources the command will hit: that
is the Cloudflare pattern (an empty filter selected every prefix), and the
change cannot be judged in full.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Final

from orchestrator.adapters.commands_args import has_flag
from orchestrator.adapters.commands_catalog import matches_words
from orchestrator.adapters.commands_classify import (
    READ_ONLY,
    Effect,
    Interpreter,
    Scene,
    Touch,
    changed,
    unknown,
)
from orchestrator.adapters.commands_words import SimpleCommand, Word

_BOOLEAN: Final = frozenset(
    {
        "--recursive",
        "--force",
        "--quiet",
        "-q",
        "--yes",
        "-y",
        "--no-wait",
        "--async",
        "--all",
        "--dryrun",
        "--dry-run",
        "--no-paginate",
        "--debug",
        "--no-verify-ssl",
        "--delete",
        "--include-all-instances",
        "--skip-final-snapshot",
        "--delete-automated-backups",
        "--force-delete-without-recovery",
        "--no-cli-pager",
        "--exact-timestamps",
        "--no-delete-automated-backups",
        "--permanently-delete",
        "--delete-disks",
        "--purge",
        "--keep-disks",
        "--delete-data",
        "--no-prompt",
    }
)


def _split(args: tuple[Word, ...]) -> tuple[list[str], dict[str, list[str | None]]]:
    """Positional words and option values (`--flag v`, `--flag=v`, `--ids a b c`)."""
    positional: list[str] = []
    options: dict[str, list[str | None]] = {}
    current: str | None = None
    for word in args:
        value = word.value
        if value is not None and value.startswith("-") and value != "-":
            name, sep, given = value.partition("=")
            options.setdefault(name, [])
            if sep:
                options[name].append(given)
                current = None
            else:
                current = None if name in _BOOLEAN else name
            continue
        if current is not None:
            options[current].append(value)
            continue
        positional.append(value if value is not None else "?")
    return positional, options


def _verb_action(verb: str, cloud: dict[str, Any]) -> str:
    if any(fnmatchcase(verb, g) for g in cloud.get("delete_verbs", ())):
        return "delete"
    if any(fnmatchcase(verb, g) for g in cloud.get("create_verbs", ())):
        return "create"
    return "update"


def _singular(noun: str) -> str:
    for plural, single in (("ies", "y"), ("sses", "ss"), ("ses", "s"), ("s", "")):
        if noun.endswith(plural) and len(noun) > len(plural) + 1:
            return noun[: -len(plural)] + single
    return noun


def _targets(
    options: dict[str, list[str | None]], extra: list[str], id_flags: tuple[str, ...]
) -> tuple[list[str], bool]:
    """Target names, and whether any is computed at run time."""
    names: list[str] = []
    computed = False
    for flag in id_flags:
        for value in options.get(flag, []):
            if value is None:
                computed = True
            else:
                names.extend(v for v in value.replace(",", " ").split() if v)
    for value in extra:
        if value == "?":
            computed = True
        else:
            names.append(value)
    return names, computed


def _empty_filters(options: dict[str, list[str | None]], flags: tuple[str, ...]) -> list[str]:
    empty = []
    for flag in flags:
        for value in options.get(flag, []):
            if value is not None and (
                value.strip() in ("", "[]", "{}")
                or value.rstrip().endswith(("Values=", "Values=[]", '=""', "=''"))
            ):
                empty.append(f"{flag} {value!r}")
    return empty


def _change(
    command: SimpleCommand,
    cloud_name: str,
    rtype: str,
    action: str,
    names: list[str],
    *,
    computed: bool,
    empty: list[str],
) -> Effect:
    facts = (("command", command.text), ("cli", cloud_name))
    notes: list[str] = []
    touches = [Touch(rtype, f"{rtype}.{name}", action, facts=facts) for name in sorted(set(names))]
    if computed or command.dynamic_tail or not names:
        source = "a pipe (xargs)" if command.dynamic_tail else "values computed at run time"
        if not names and not command.dynamic_tail and not computed:
            source = "no named target"
        touches.append(Touch(rtype, f"{rtype}.*", action, facts=(*facts, ("targets", source))))
        notes.append(
            f"command.computed-targets: {cloud_name} {action} of {rtype} whose targets "
            f"come from {source}: which resources it hits is known only when it runs"
        )
    if empty:
        notes.append(
            f"command.empty-filter: {', '.join(empty)} is empty: a removal driven by an "
            f"empty filter selects every {rtype} (the Cloudflare pattern)"
        )
    return changed(command, touches=tuple(touches), notes=tuple(notes))


# --- aws --------------------------------------------------------------------------------------


def _aws(command: SimpleCommand, scene: Scene) -> Effect:
    cloud = scene.catalog.clouds.get("aws", {})
    positional, options = _split(command.args)
    if len(positional) < 2:
        return Effect(READ_ONLY, command.text, command.line)
    service, verb = positional[0], positional[1]
    if (
        has_flag(command.args, "--dryrun", "--dry-run")
        or any(matches_words(g, [verb]) for g in scene.catalog.tool_list("aws", "read"))
        or (service == "sts")
    ):
        empty = _empty_filters(options, tuple(cloud.get("filter_flags", ())))
        return Effect(READ_ONLY, command.text, command.line, empty_filter=", ".join(empty))
    if service == "s3":
        return _s3(command, cloud, verb, positional[2:], options)
    action = _verb_action(verb, cloud)
    rtype = cloud.get("types", {}).get(f"{service} {verb}") or cloud.get("types", {}).get(
        f"{service} *"
    )
    if rtype is None:
        noun = verb.split("-", 1)[1] if "-" in verb else verb
        prefix = cloud.get("prefixes", {}).get(service, f"{service}_")
        rtype = "aws_" + prefix + _singular(noun.replace("-", "_"))
    names, computed = _targets(options, positional[2:], tuple(cloud.get("id_flags", ())))
    empty = _empty_filters(options, tuple(cloud.get("filter_flags", ())))
    return _change(command, "aws", rtype, action, names, computed=computed, empty=empty)


def _s3(
    command: SimpleCommand,
    cloud: dict[str, Any],
    verb: str,
    paths: list[str],
    options: dict[str, list[str | None]],
) -> Effect:
    remote = [p for p in paths if p.startswith("s3://") or p == "?"]
    if (
        verb in ("cp", "mv", "sync")
        and paths
        and not (paths[-1].startswith("s3://") or paths[-1] == "?")
    ):
        if verb == "cp":
            return Effect(READ_ONLY, command.text, command.line)  # a download
        remote = remote[:1]
    rtype = cloud.get("types", {}).get(f"s3 {verb}", "aws_s3_object")
    action = {"rb": "delete", "rm": "delete", "mb": "create"}.get(verb, "update")
    if verb == "sync" and "--delete" in options:
        action = "delete"
    if verb == "mv":
        action = "delete"  # the source objects go
    names = [p.removeprefix("s3://").rstrip("/") for p in remote if p != "?"]
    recursive = "--recursive" in options or verb == "sync"
    if verb == "rb" and "--force" in options:
        names = list(names)
        extra = [
            Touch(
                "aws_s3_object",
                f"aws_s3_object.{n}/*",
                "delete",
                facts=(("command", command.text), ("force", "every object in the bucket")),
            )
            for n in names
        ]
        base = _change(command, "aws", rtype, action, names, computed="?" in remote, empty=[])
        return Effect(
            base.verdict,
            base.command,
            base.line,
            touches=base.touches + tuple(extra),
            notes=base.notes,
        )
    if recursive:
        names = [f"{n}/*" if "/" not in n else f"{n.rstrip('/')}/*" for n in names]
    return _change(command, "aws", rtype, action, names, computed="?" in remote, empty=[])


# --- gcloud and az ------------------------------------------------------------------------------


def _grouped(command: SimpleCommand, scene: Scene, cloud_name: str, prefix: str) -> Effect:
    cloud = scene.catalog.clouds.get(cloud_name, {})
    positional, options = _split(command.args)
    read = scene.catalog.tool_list(cloud_name, "read")
    verbs = (
        *cloud.get("delete_verbs", ()),
        *cloud.get("create_verbs", ()),
        *cloud.get("iam_verbs", ()),
    )
    for index, word in enumerate(positional):
        if any(fnmatchcase(word, g) for g in read) or (
            matches_words(" ".join(positional[: index + 1]), positional)
            and any(matches_words(g, positional[: index + 1]) for g in read if " " in g)
        ):
            return Effect(READ_ONLY, command.text, command.line)
        if any(fnmatchcase(word, g) for g in verbs) or word in (
            "update",
            "set",
            "patch",
            "stop",
            "reset",
            "resize",
        ):
            groups, verb, names = positional[:index], word, positional[index + 1 :]
            break
    else:
        return unknown(
            command, f"command.unknown: {cloud_name} {' '.join(positional[:3])} is not understood"
        )
    if has_flag(command.args, "--dry-run", "--validate-only"):
        return Effect(READ_ONLY, command.text, command.line)
    types = cloud.get("types", {})
    rtype = next(
        (
            types[" ".join(groups[:n])]
            for n in range(len(groups), 0, -1)
            if " ".join(groups[:n]) in types
        ),
        None,
    )
    if verb in cloud.get("iam_verbs", ()):
        base = rtype or prefix + "_".join(_singular(g.replace("-", "_")) for g in groups)
        suffix = "_iam_policy" if verb == "set-iam-policy" else "_iam_binding"
        rtype = (
            base.removesuffix("_instance").removesuffix("_account") + suffix
            if not base.endswith("_iam_binding")
            else base
        )
        action = "update"
    else:
        rtype = rtype or prefix + "_".join(_singular(g.replace("-", "_")) for g in groups)
        action = _verb_action(verb, cloud)
    id_flags: tuple[str, ...] = ()
    if cloud_name == "az":  # a resource group is named by --resource-group, anything else by -n
        id_flags = ("--name", "-n", "--ids")
        if rtype == "azurerm_resource_group":
            id_flags += ("--resource-group", "-g")
    targets, computed = _targets(
        options, [n for n in names if n != "?"] + (["?"] if "?" in names else []), id_flags
    )
    empty = _empty_filters(options, ("--filter",))
    return _change(command, cloud_name, rtype, action, targets, computed=computed, empty=empty)


def _gcloud(command: SimpleCommand, scene: Scene) -> Effect:
    positional, _ = _split(command.args)
    if positional[:1] == ["storage"] and positional[1:2] in (["rm"], ["rb"], ["cp"], ["mv"]):
        return _gcloud_storage(command, scene, positional)
    return _grouped(command, scene, "gcloud", "google_")


def _gcloud_storage(command: SimpleCommand, scene: Scene, positional: list[str]) -> Effect:
    verb, paths = positional[1], positional[2:]
    types = scene.catalog.clouds.get("gcloud", {}).get("types", {})
    if verb == "cp" and paths and not paths[-1].startswith("gs://"):
        return Effect(READ_ONLY, command.text, command.line)
    rtype = types.get(f"storage {verb}", "google_storage_bucket_object")
    recursive = has_flag(command.args, "-r", "-R", "--recursive")
    names = [
        p.removeprefix("gs://").rstrip("/") + ("/*" if recursive else "")
        for p in paths
        if p.startswith("gs://")
    ]
    action = "update" if verb == "cp" else "delete"
    return _change(command, "gcloud", rtype, action, names, computed="?" in paths, empty=[])


def _az(command: SimpleCommand, scene: Scene) -> Effect:
    return _grouped(command, scene, "az", "azurerm_")


INTERPRETERS: Final[dict[str, Interpreter]] = {"aws": _aws, "gcloud": _gcloud, "az": _az}
