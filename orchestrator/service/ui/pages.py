"""The web view's templates: one Jinja2 environment, autoescaping everything it renders.

Templates live beside this module (package data). Every value reaches the
HTML through autoescaping; the only markup passed through is the SVG that
graph.py builds, whose text it escapes itself. The CSS is inline in
base.html, so a page saved from the browser, and the incident report that
`commander report --html` writes, stand alone.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@functools.cache
def environment() -> Environment:
    """The templates' environment, built once per process."""
    env = Environment(
        loader=PackageLoader("orchestrator.service.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["pct"] = pct
    return env


def render_page(name: str, **context: Any) -> str:
    """One template rendered to HTML."""
    context.setdefault("standalone", False)
    context.setdefault("session", None)
    return environment().get_template(name).render(**context)


def when(text: str | None) -> str:
    """An ISO time as the page shows it: to the second, UTC."""
    if not text:
        return "-"
    return text[:19].replace("T", " ") + " UTC"


def pct(value: float | None) -> str:
    """A share as a percentage, or a dash."""
    return "-" if value is None else f"{value * 100:.0f}%"
