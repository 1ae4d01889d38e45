"""Commands of a team deployment: `serve`, `migrate` and `token new`.

`serve` loads the policy, the topology, the tokens and the store before it
opens its port, so a bad file fails the start with one line rather than the
first request. FastAPI and uvicorn are imported only here: a plain review
never pays for a web framework.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.choices import ExecutorName
from orchestrator.commands.gatectx import say
from orchestrator.commands.options import (
    BackstageOption,
    ConfigOption,
    DbOption,
    ExecutorOption,
    RayAddressOption,
    TopologyOption,
)
from orchestrator.errors import UsageError, UserError

if TYPE_CHECKING:
    from orchestrator.service.state import ServiceOptions

# Submissions one worker judges at once: about what its thread pool runs, so a
# burst waits at the door (503, Retry-After) instead of in a queue past its deadline.
DEFAULT_MAX_CONCURRENT = 32


def serve(
    *,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (env COMMANDER_HOST; 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (env COMMANDER_PORT; 8080).")
    ] = None,
    tokens: Annotated[
        str | None,
        typer.Option(help="Tokens file: principals and their token hashes (env COMMANDER_TOKENS)."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    topology: TopologyOption = None,
    backstage: BackstageOption = None,
    executor: ExecutorOption = ExecutorName.local,
    ray_address: RayAddressOption = None,
    max_body: Annotated[
        int | None,
        typer.Option(
            "--max-body",
            metavar="BYTES",
            help="Largest request body; default 64 MiB (or max_input_bytes if smaller).",
        ),
    ] = None,
    checkpoint_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 key that signs checkpoints (GET /v1/audit/checkpoint); "
            "default: $COMMANDER_CHECKPOINT_KEY."
        ),
    ] = None,
    checkpoint_every: Annotated[
        str | None,
        typer.Option(metavar="DURATION", help="Also write a checkpoint this often: 15m, 1h."),
    ] = None,
    checkpoint_dir: Annotated[
        Path | None, typer.Option(help="Where --checkpoint-every writes them.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes, each with the policy and graph loaded (PostgreSQL)."
        ),
    ] = 1,
    max_concurrent: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Submissions one worker judges at once; beyond them 503 with Retry-After.",
        ),
    ] = DEFAULT_MAX_CONCURRENT,
    ui_session: Annotated[
        str, typer.Option(metavar="DURATION", help="How long a /ui login lasts: 8h, 30m.")
    ] = "8h",
    secure_cookies: Annotated[
        bool,
        typer.Option(
            help="Browsers reach /ui over https (a TLS proxy in front): cookies carry Secure."
        ),
    ] = False,
) -> None:
    """Serve the HTTP API: submit proposals, read decisions, sign off, freeze; /metrics."""
    try:
        import uvicorn  # noqa: PLC0415 - only the service needs a web server

        from orchestrator.service.app import create_app  # noqa: PLC0415
    except ImportError as exc:
        # A missing extra is exit 1, as for --executor ray and PostgreSQL: not a usage error.
        raise UserError(
            f"serve needs the service extra ({exc.name} missing): pip install 'commander[service]'"
        ) from None
    from orchestrator.service.factory import ENV_SERVE_ARGS, FACTORY  # noqa: PLC0415
    from orchestrator.settings import resolve_listen  # noqa: PLC0415

    # Checked before anything loads: a bad length fails at once.
    _session_length(ui_session)
    if workers > 1 and checkpoint_every is not None:
        raise UsageError(
            "--checkpoint-every needs --workers 1 (each worker would write its own); "
            "sign checkpoints from cron with `commander audit checkpoint` instead"
        )
    listen = resolve_listen(host=host, port=port, tokens=tokens)
    args = {
        "tokens": str(listen.tokens),
        "db": db,
        "config": config,
        "topology": topology,
        "backstage": backstage,
        "executor": executor.value,
        "ray_address": ray_address,
        "max_body": max_body,
        "checkpoint_key": None if checkpoint_key is None else str(checkpoint_key),
        "checkpoint_every": checkpoint_every,
        "checkpoint_dir": None if checkpoint_dir is None else str(checkpoint_dir),
        "max_concurrent": max_concurrent,
        "ui_session": ui_session,
        "secure_cookies": secure_cookies,
    }
    # Built here even for several workers: a bad file fails before the port opens.
    app = create_app(service_options(args))
    served: Any = app
    if workers > 1:
        app.state.commander.close()
        os.environ[ENV_SERVE_ARGS] = json.dumps(args)
        served = FACTORY
    else:
        # SIGHUP reloads the tokens file (it is also followed by its modification time).
        signal.signal(signal.SIGHUP, lambda *_: app.state.commander.auth.reload_soon())
    uvicorn.run(
        served,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=listen.host,
        port=listen.port,
        # The app's own loggers say what matters; the access log is for proxies to keep.
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )


def service_options(args: dict[str, Any]) -> ServiceOptions:
    """What `serve`'s arguments (as strings, so a worker process can get them) ask for."""
    from orchestrator.service.integrations import integrations_from_env  # noqa: PLC0415
    from orchestrator.service.state import ServiceOptions  # noqa: PLC0415
    from orchestrator.settings import resolve  # noqa: PLC0415

    max_body = args.get("max_body")
    if max_body is not None and max_body <= 0:
        raise UsageError("--max-body must be a positive number of bytes")
    key, folder = args.get("checkpoint_key"), args.get("checkpoint_dir")
    schedule = _checkpointing(
        None if key is None else Path(key),
        args.get("checkpoint_every"),
        None if folder is None else Path(folder),
    )
    settings = resolve(
        db=args.get("db"),
        config=args.get("config"),
        topology=args.get("topology"),
        backstage=args.get("backstage"),
        ray_address=args.get("ray_address"),
    )
    return ServiceOptions(
        settings=settings,
        tokens=Path(args["tokens"]),
        executor=args.get("executor", "local"),
        max_body_bytes=max_body,
        max_concurrent=args.get("max_concurrent", DEFAULT_MAX_CONCURRENT),
        ui_session_ttl=_session_length(args.get("ui_session", "8h")),
        ui_secure_cookies=args.get("secure_cookies", False),
        # GitHub's and HCP Terraform's secrets: from the environment only, never a flag
        integrations=integrations_from_env(),
        **schedule,
    )


def _session_length(text: str) -> timedelta:
    """--ui-session as a positive duration."""
    from orchestrator.guards import parse_duration  # noqa: PLC0415

    try:
        span: timedelta = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--ui-session: {exc}") from None
    if span.total_seconds() <= 0:
        raise UsageError("--ui-session must be longer than nothing")
    return span


def _checkpointing(key: Path | None, every: str | None, folder: Path | None) -> dict[str, Any]:
    """The checkpoint options of ServiceOptions: a key, and a period with a folder, or none."""
    from orchestrator.commands.checkpoint import load_signing_key  # noqa: PLC0415
    from orchestrator.guards import parse_duration  # noqa: PLC0415
    from orchestrator.settings import ENV_CHECKPOINT_KEY, key_text  # noqa: PLC0415

    if (every is None) != (folder is None):
        raise UsageError("--checkpoint-every and --checkpoint-dir go together")
    if every is None and key_text(key, ENV_CHECKPOINT_KEY) is None:
        return {}  # no key anywhere: the service signs no checkpoints
    options: dict[str, Any] = {"checkpoint_key": load_signing_key(key)}
    if every is not None and folder is not None:
        try:
            span = parse_duration(every)
        except ValueError as exc:
            raise UsageError(f"--checkpoint-every: {exc}") from None
        if span.total_seconds() <= 0:
            raise UsageError("--checkpoint-every must be longer than nothing")
        if not folder.is_dir():
            raise UsageError(f"--checkpoint-dir {folder}: not a folder")
        options |= {"checkpoint_every": span, "checkpoint_dir": folder}
    return options


def migrate(*, db: DbOption = None) -> None:
    """Bring the audit store's schema to the newest revision (a no-op when it is there)."""
    from orchestrator.settings import resolve  # noqa: PLC0415
    from orchestrator.store import Store  # noqa: PLC0415
    from orchestrator.store.migrate import HEAD_REVISION  # noqa: PLC0415

    store = Store.from_settings(resolve(db=db), create=True)
    store.close()
    say(f"{store.url}: schema at revision {HEAD_REVISION}")


token_app = typer.Typer(
    help="Bearer tokens for the HTTP service.", no_args_is_help=True, rich_markup_mode=None
)


@token_app.command("new")
def new_token(
    name: Annotated[str, typer.Argument(help="The principal: a pipeline, a person, a scraper.")],
    *,
    role: Annotated[
        list[str], typer.Option("--role", help="ci, approver, admin, metrics or agent; repeatable.")
    ],
    approves: Annotated[
        str,
        typer.Option(help="Approvers: the gate roles they sign in, comma-separated."),
    ] = "",
    github: Annotated[
        str | None,
        typer.Option(metavar="LOGIN", help="Their GitHub login: PR comments sign as them."),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Refuse the token from then on: a lifetime (90d, 12h) or an ISO 8601 time "
            "with its zone (2027-03-01T00:00:00Z); default: until removed from the file.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Add the entry to this tokens file (created when missing) instead of printing it.",
        ),
    ] = None,
) -> None:
    """Make a token: print it once (stderr), and the tokens-file entry with only its hash.

    With --file the entry goes into the file (appended to its principals);
    `… >> tokens.yaml` twice would write two `principals:` keys, a file
    commander refuses to load.
    """
    import yaml  # noqa: PLC0415
    from pydantic import ValidationError  # noqa: PLC0415

    from orchestrator.service.auth import Principal, Role, hash_token  # noqa: PLC0415
    from orchestrator.service.auth import new_token as fresh  # noqa: PLC0415
    from orchestrator.yamlfile import describe_validation  # noqa: PLC0415

    known = [r.value for r in Role]
    if unknown := [r for r in role if r not in known]:
        raise UsageError(f"--role: {unknown[0]!r} is not a role; one of {', '.join(known)}")
    token = fresh()
    gate_roles = [r.strip() for r in approves.split(",") if r.strip()]
    fields: dict[str, Any] = {"name": name, "roles": role, "approves": gate_roles}
    if expires is not None:
        fields["expires"] = _expiry(expires)
    try:
        entry = Principal.model_validate(
            fields | {"token_sha256": hash_token(token), "github": github}
        )
    except ValidationError as exc:
        message, loc = describe_validation(exc)
        # A check across fields (approves without the approver role) is about --approves.
        option = {"name": f"name {name!r}", "approves": "--approves"}.get(
            str(loc[0]) if loc else "approves", "--role"
        )
        raise UsageError(f"{option}: {message.partition(': ')[2] or message}") from None
    if file is not None:
        from orchestrator.service.tokens_file import add_principal  # noqa: PLC0415

        count = add_principal(file, entry)
        sys.stderr.write(f"token for {name} (shown once; keep it in your secret store):\n{token}\n")
        say(f"{file}: added {name} ({count} {'principal' if count == 1 else 'principals'})")
        return
    dumped = entry.model_dump(mode="json", exclude_defaults=True)
    # The token to the terminal, the entry to stdout: `… > entry.yaml` never stores the token.
    sys.stderr.write(f"token for {name} (shown once; keep it in your secret store):\n{token}\n")
    say(yaml.safe_dump({"principals": [dumped]}, sort_keys=False).rstrip())


def _expiry(given: str) -> str:
    """`--expires` as the ISO 8601 UTC time the tokens file keeps."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from orchestrator.guards import parse_duration  # noqa: PLC0415

    now = datetime.now(UTC)
    try:
        lifetime: timedelta = parse_duration(given)
        when = now + lifetime
    except (ValueError, TypeError):
        try:
            when = datetime.fromisoformat(given)
        except ValueError:
            raise UsageError(
                f"--expires {given!r}: give a lifetime (90d, 12h) or an ISO 8601 time"
            ) from None
        if when.tzinfo is None:
            raise UsageError(f"--expires {given!r}: give the time's zone (Z or +hh:mm)") from None
    if when <= now:
        raise UsageError(f"--expires {given!r}: that is not in the future")
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def register(app: typer.Typer) -> None:
    """Add the deployment's commands to the app."""
    app.command()(serve)
    app.command()(migrate)
    app.add_typer(token_app, name="token")
