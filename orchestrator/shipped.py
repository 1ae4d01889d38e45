"""Where the shipped defaults live; a module of its own so light paths can ask without pydantic."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def shipped_config_path() -> str:
    """The defaults inside the installed package, or ./configs in a checkout (no pathlib)."""
    here = os.path.dirname(os.path.realpath(__file__))
    packaged = os.path.join(here, "_defaults", "configs")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "configs")


def shipped_config_dir() -> Path:
    """The defaults inside the installed package, or ./configs in a checkout."""
    from pathlib import Path  # noqa: PLC0415 - the guard's fast path asks shipped_config_path

    return Path(shipped_config_path())
