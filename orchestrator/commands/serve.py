"""Commands of a team deployment: `serve`, `migrate` and `token new`.

`serve` loads the policy, the topology, the tokens and the store before it
opens its port, so a bad file fails the start with one line rather than the
first request. FastAPI and uvicorn are imported only here: a plain review
never pays for a web framework.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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
from orchestrator.errors import UsageError


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
            "--max-body", metavar="BYTES", help="Largest submission; default max_input_bytes."
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
) -> None:
    """Serve the HTTP API: submit proposals, read decisions, sign off, freeze; /metrics."""
    try:
        import uvicorn  # noqa: PLC0415 - only the service needs a web server

        from orchestrator.service.app import create_app  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"the service needs its extra: pip install 'commander[service]' ({exc.name} missing)"
        ) from None
    from orchestrator.service.state import ServiceOptions  # noqa: PLC0415
    from orchestrator.settings import resolve, resolve_listen  # noqa: PLC0415

    if max_body is not None and max_body <= 0:
        raise UsageError("--max-body must be a positive number of bytes")
    schedule = _checkpointing(checkpoint_key, checkpoint_every, checkpoint_dir)
    listen = resolve_listen(host=host, port=port, tokens=tokens)
    settings = resolve(
        db=db, config=config, topology=topology, backstage=backstage, ray_address=ray_address
    )
    app = create_app(
        ServiceOptions(
            settings=settings,
            tokens=listen.tokens,
            executor=executor.value,
            max_body_bytes=max_body,
            **schedule,
        )
    )
    uvicorn.run(
        app,
        host=listen.host,
        port=listen.port,
        # The app's own loggers say what matters; the access log is for proxies to keep.
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )


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
    role: Annotated[
        list[str], typer.Option("--role", help="ci, approver, admin, metrics or agent; repeatable.")
    ],
    approves: Annotated[
        str,
        typer.Option(help="Approvers: the gate roles they sign in, comma-separated."),
    ] = "",
) -> None:
    """Make a token: print it once (stderr), and the tokens-file entry with only its hash."""
    import yaml  # noqa: PLC0415

    from orchestrator.service.auth import Principal, hash_token  # noqa: PLC0415
    from orchestrator.service.auth import new_token as fresh  # noqa: PLC0415

    token = fresh()
    gate_roles = [r.strip() for r in approves.split(",") if r.strip()]
    try:
        entry = Principal.model_validate(
            {"name": name, "roles": role, "approves": gate_roles, "token_sha256": hash_token(token)}
        )
    except ValueError as exc:
        raise UsageError(f"{name}: {str(exc).splitlines()[-1].strip()}") from None
    dumped = entry.model_dump(mode="json", exclude_defaults=True)
    # The token to the terminal, the entry to stdout: `… > entry.yaml` never stores the token.
    sys.stderr.write(f"token for {name} (shown once; keep it in your secret store):\n{token}\n")
    say(yaml.safe_dump({"principals": [dumped]}, sort_keys=False).rstrip())


def register(app: typer.Typer) -> None:
    """Add the deployment's commands to the app."""
    app.command()(serve)
    app.command()(migrate)
    app.add_typer(token_app, name="token")
