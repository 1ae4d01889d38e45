"""The app factory `commander serve --workers N` hands uvicorn, one call per worker process.

uvicorn starts each worker as a fresh process, so the app cannot be passed
as an object: the parent puts its `serve` arguments in COMMANDER_SERVE_ARGS
(JSON) and every worker resolves them again here, loading the policy, the
dependency graph and the tokens once for its life. The parent has already
built one state from the same arguments and closed it, so a bad file fails
the start with one line before any port opens.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from orchestrator.errors import UsageError

if TYPE_CHECKING:
    from fastapi import FastAPI

ENV_SERVE_ARGS = "COMMANDER_SERVE_ARGS"
# What uvicorn imports in each worker.
FACTORY = "orchestrator.service.factory:app_from_environment"


def app_from_environment() -> FastAPI:
    """The service app for this worker, from the arguments its parent gave `serve`."""
    from orchestrator.commands.serve import service_options  # noqa: PLC0415
    from orchestrator.service.app import create_app  # noqa: PLC0415

    text = os.environ.get(ENV_SERVE_ARGS)
    if text is None:
        raise UsageError(f"{ENV_SERVE_ARGS} is not set: start workers with `commander serve`")
    args: dict[str, Any] = json.loads(text)
    return create_app(service_options(args))
