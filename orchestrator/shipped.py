"""Where the shipped defaults live; a module of its own so light paths can ask without pydantic."""

from __future__ import annotations

from pathlib import Path


def shipped_config_dir() -> Path:
    """The defaults inside the installed package, or ./configs in a checkout."""
    packaged = Path(__file__).resolve().parent / "_defaults" / "configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "configs"
