"""The flags many commands share, each written once: its name, its help and its variable."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.choices import ExecutorName

DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (env COMMANDER_DATABASE_URL).")
]
ConfigOption = Annotated[
    str | None, typer.Option("--config", help="Policy config directory (env COMMANDER_CONFIG).")
]
TopologyOption = Annotated[
    str | None, typer.Option("--topology", help="Topology file (env COMMANDER_TOPOLOGY).")
]
BackstageOption = Annotated[
    str | None,
    typer.Option(
        "--backstage", help="Backstage catalog file, more services (env COMMANDER_BACKSTAGE)."
    ),
]
ExecutorOption = Annotated[
    ExecutorName, typer.Option("--executor", help="Where reviewers run: here, or on Ray.")
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster for --executor ray: HOST:PORT, or auto for the one `ray start` runs "
        "here; default: start a private one (env COMMANDER_RAY_ADDRESS).",
    ),
]
SourceRootOption = Annotated[
    str | None,
    typer.Option(
        "--source-root",
        metavar="DIR",
        help="Repository root that SARIF, JUnit and GitHub paths are relative to "
        "(default: the current directory).",
    ),
]
SourceDirOption = Annotated[
    str | None,
    typer.Option(
        "--source-dir",
        metavar="DIR",
        help="Terraform configuration whose .tf lines plan results point at "
        "(default: the current directory when it holds *.tf).",
    ),
]
