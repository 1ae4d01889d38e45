"""A cold `commander review` imports only what a review runs.

Every module a review imports is paid for on every run in a pipeline; these
checks keep the ones it does not need off its path (the web stack and Ray
have their own checks in test_service_cli.py and test_ray_executor.py).
"""

from __future__ import annotations

import pytest

from tests.cli_imports import modules_after, roots
from tests.service_support import IAM_PLAN, IAM_TOPOLOGY

# Packages a review of a JSON plan never needs: migrations (the store is at
# head), the graph library (the dominators are hand-written), the YAML parser
# (the policy files and the topology are read from the cache after the first
# review), HCL parsing, schema validation, pretty terminals and the HTTP client.
HEAVY = (
    "alembic",
    "yaml",
    "mako",
    "networkx",
    "hcl2",
    "lark",
    "jsonschema",
    "rich",
    "pygments",
    "httpx",
    "fastapi",
    "ray",
)
# The CLI's other command groups: running `review` builds only its own command.
OTHER_COMMANDS = (
    "orchestrator.commands.audit",
    "orchestrator.commands.gate",
    "orchestrator.commands.serve",
    "orchestrator.commands.policy",
    "orchestrator.commands.checkpoint",
    "orchestrator.commands.postincident",
    "orchestrator.commands.trailer",
    "orchestrator.commands.controls",
    "orchestrator.service",
    "orchestrator.render.sarif",
    "orchestrator.render.junit",
    "orchestrator.render.explain",
    # inputs and options this review does not use
    "orchestrator.graph.backstage",
    "orchestrator.adapters.kubernetes_load",
    "orchestrator.store.verify",
)


def second_review(argv: list[str], env: dict[str, str]) -> set[str]:
    """The modules loaded by the second of two reviews (the store exists, caches are warm)."""
    for _ in range(2):
        code, loaded, stderr = modules_after(argv, env)
        assert code == 3, stderr
    return loaded


@pytest.fixture
def reviewed(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The modules loaded by a second review of a plan."""
    env = {**cli_env, "COMMANDER_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    return second_review(["review", str(IAM_PLAN), "--output", "json"], env)


def test_a_review_imports_no_heavy_package_it_does_not_run(reviewed: set[str]) -> None:
    """No migration tool, graph library, HCL parser, rich terminal or web client is loaded."""
    assert roots(reviewed, HEAVY) == []


def test_a_review_builds_only_its_own_command(reviewed: set[str]) -> None:
    """The other command groups' modules (and the renderers not asked for) stay unloaded."""
    loaded = sorted(m for m in reviewed for o in OTHER_COMMANDS if m == o or m.startswith(o + "."))
    assert loaded == []


def test_a_review_with_a_cached_topology_parses_no_yaml(
    cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A second review of a YAML topology reads its graph from the cache: no parser, no networkx."""
    cache = tmp_path_factory.mktemp("cache")
    env = {**cli_env, "COMMANDER_CACHE_DIR": str(cache)}
    argv = ["review", str(IAM_PLAN), "--topology", str(IAM_TOPOLOGY), "--output", "json"]
    loaded = second_review(argv, env)
    assert list(cache.glob("topology-graph-*")), "the topology's graph was not cached"
    assert roots(loaded, HEAVY) == []
