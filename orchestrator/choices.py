"""The closed sets of names a user picks from, shared by the CLI and the HTTP API."""

from __future__ import annotations

from enum import StrEnum


class InputKind(StrEnum):
    """Input kinds (`--kind`, `?kind=`); auto detects the kind from the content."""

    auto = "auto"
    terraform = "terraform"
    kubernetes = "kubernetes"
    diff = "diff"
    sql = "sql"
    command = "command"


class OutputFormat(StrEnum):
    """How a decision is shown (`--output`, `?format=`)."""

    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"
    junit = "junit"
    github = "github"


# The outputs that point at files and lines, so need to know where the sources are.
LINE_OUTPUTS = frozenset({OutputFormat.sarif, OutputFormat.junit, OutputFormat.github})


class ExecutorName(StrEnum):
    """Where reviewers run (`--executor`): in this process, or on a Ray cluster."""

    local = "local"
    ray = "ray"
