"""Where the config and the cache are, read from the environment with no heavy import.

settings.py resolves every setting for the CLI and the service; `commander
guard`'s read-only answer needs only these two, and must not pay for what
settings.py imports (dataclasses, pathlib), so they live here and
settings.py takes them from here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_CONFIG = "COMMANDER_CONFIG"
ENV_CACHE_DIR = "COMMANDER_CACHE_DIR"


def cache_location(environ: Mapping[str, str] | None = None) -> str:
    """Where derived files are kept: COMMANDER_CACHE_DIR, else the user's cache directory."""
    env = os.environ if environ is None else environ
    if value := env.get(ENV_CACHE_DIR):
        return value
    from platformdirs import user_cache_dir  # noqa: PLC0415 - only when the variable is unset

    return user_cache_dir("commander", appauthor=False)
