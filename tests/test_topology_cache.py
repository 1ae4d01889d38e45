"""A large topology is parsed once per content; the cache is never trusted over the file."""

from __future__ import annotations

import hashlib
import json
import marshal
from pathlib import Path

import pytest
import yaml

from orchestrator.errors import ConfigError
from orchestrator.graph import DependencyGraph, dependency, topology_cache
from orchestrator.graph.build import EdgeTag
from orchestrator.graph.topology import read_topology
from orchestrator.places import ENV_CACHE_DIR
from orchestrator.settings import cache_dir

TOPOLOGY = {
    "services": {
        "db": {"criticality": "critical", "owns": ["aws_db_instance.main"]},
        "api": {"depends_on": ["db"], "owns": ["module.api.*"]},
    },
    "populations": {"aws_instance": 40},
}


# The shipped threshold, read before the fixture below lowers it for the other tests.
SHIPPED_MIN_BYTES = topology_cache.MIN_BYTES


@pytest.fixture(autouse=True)
def cache_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache even the small files these tests write."""
    monkeypatch.setattr(topology_cache, "MIN_BYTES", 0)


def write(path: Path, topology: dict[str, object]) -> Path:
    path.write_text(json.dumps(topology), encoding="utf-8")
    return path


def entry_of(cache: Path, topology: Path, kind: str = "services") -> Path:
    key = hashlib.sha256(topology.read_bytes()).hexdigest()
    return cache / f"topology-{kind}-{key}.marshal"


def test_a_cache_hit_gives_the_same_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review reading a cached topology sees the same services, edges, owners and origin."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    cold = DependencyGraph.load(topology, cache=cache)
    assert entry_of(tmp_path / "cache", topology, "graph").is_file()
    moved = write(tmp_path / "elsewhere.json", TOPOLOGY)
    for path, warm in (
        (topology, DependencyGraph.load(topology, cache=cache)),
        (moved, DependencyGraph.load(moved, cache=cache)),
    ):
        assert warm is not cold
        assert (warm.names, warm.succ, warm.rank, warm.resource, warm.services) == (
            cold.names,
            cold.succ,
            cold.rank,
            cold.resource,
            cold.services,
        )
        assert warm.populations == cold.populations == {"aws_instance": 40}
        assert warm.owner_index.owners("module.api.aws_instance.x") == {"api"}
        assert warm.owners("aws_db_instance.main") == {"db"}
        assert warm.origin == str(path)
        assert warm.edge_tags(warm.services["db"]) == {
            warm.services["api"]: EdgeTag("depends_on", str(path))
        }
        assert len(warm) == 2


def test_a_corrupt_graph_entry_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph entry of another shape is ignored and written again."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    expected = DependencyGraph.load(topology, cache=cache)
    entry = entry_of(tmp_path / "cache", topology, "graph")
    key = entry.name.removeprefix("topology-graph-").removesuffix(".marshal")
    entry.write_bytes(marshal.dumps((topology_cache.FORMAT_VERSION, "graph", key, (1, 2))))
    assert DependencyGraph.load(topology, cache=cache).succ == expected.succ
    assert len(marshal.loads(entry.read_bytes())[3]) == 10  # noqa: S302


def test_the_cache_is_what_is_read(tmp_path: Path) -> None:
    """A valid entry for the file's content is used instead of parsing again."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    read_topology(topology, cache=cache)
    entry = entry_of(cache, topology)
    key = entry.name.removeprefix("topology-services-").removesuffix(".marshal")
    stored = (topology_cache.FORMAT_VERSION, "services", key, ([], {"x": 1}, {}))
    entry.write_bytes(marshal.dumps(stored))
    assert read_topology(topology, cache=cache) == ([], {"x": 1}, {})


def test_a_changed_file_is_not_served_stale(tmp_path: Path) -> None:
    """Editing the topology gives the new services at once."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    read_topology(topology, cache=cache)
    write(topology, {"services": {"web": {"criticality": "low"}}})
    assert read_topology(topology, cache=cache) == ([("web", 0, [], [])], {}, {})


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not marshal at all",
        marshal.dumps((topology_cache.FORMAT_VERSION + 1, "services", "key", ([], {}))),
        marshal.dumps(("wrong", "shape")),
    ],
    ids=["empty", "garbage", "other-version", "other-shape"],
)
def test_an_unusable_cache_entry_is_ignored_and_rebuilt(tmp_path: Path, content: bytes) -> None:
    """A corrupt, truncated or foreign cache file never changes the result."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    expected = read_topology(topology)
    entry = entry_of(cache, topology)
    cache.mkdir()
    entry.write_bytes(content)
    assert read_topology(topology, cache=cache) == expected
    assert marshal.loads(entry.read_bytes())[0] == topology_cache.FORMAT_VERSION  # noqa: S302


def test_an_entry_for_other_content_is_not_used(tmp_path: Path) -> None:
    """An entry whose recorded key is not the file's hash is ignored."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    cache = tmp_path / "cache"
    cache.mkdir()
    stored = (topology_cache.FORMAT_VERSION, "services", "0" * 64, ([], {}))
    entry_of(cache, topology).write_bytes(marshal.dumps(stored))
    assert read_topology(topology, cache=cache) == read_topology(topology)


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    """When the cache directory cannot be made, the topology is still read."""
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory", encoding="utf-8")
    assert read_topology(topology, cache=blocker / "cache") == read_topology(topology)


def test_errors_are_not_cached(tmp_path: Path) -> None:
    """A bad topology fails the same way every time, naming the file."""
    topology = tmp_path / "topology.yaml"
    topology.write_text("services:\n  db:\n    criticality: urgent\n", encoding="utf-8")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"topology\.yaml"):
            read_topology(topology, cache=cache)
    assert not list(cache.glob("topology-*"))


def test_small_files_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only files worth caching leave an entry behind."""
    monkeypatch.setattr(topology_cache, "MIN_BYTES", 1 << 20)
    topology = write(tmp_path / "topology.json", TOPOLOGY)
    read_topology(topology, cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_an_ordinary_yaml_topology_is_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A YAML topology of a few dozen services (kilobytes) is served from the cache the second time.

    Parsing YAML is what costs: 100 ms a review for 1,000 services, against
    2 ms to load the cached graph, so files far below a megabyte are cached too.
    """
    monkeypatch.setattr(topology_cache, "MIN_BYTES", SHIPPED_MIN_BYTES)
    services = {
        f"svc{i}": {"criticality": "high", "depends_on": [f"svc{i - 1}"] if i else []}
        for i in range(40)
    }
    topology, cache = tmp_path / "topology.yaml", tmp_path / "cache"
    topology.write_text(yaml.safe_dump({"services": services}), encoding="utf-8")
    assert topology.stat().st_size < 4096
    cold = DependencyGraph.load(topology, cache=cache)

    def parse_again(data: bytes, origin: str) -> object:
        raise AssertionError(f"{origin} was parsed again")

    monkeypatch.setattr(dependency, "parse_topology", parse_again)
    warm = DependencyGraph.load(topology, cache=cache)
    assert (warm.names, warm.succ, warm.rank) == (cold.names, cold.succ, cold.rank)


def test_old_entries_are_pruned(tmp_path: Path) -> None:
    """Each edit leaves an entry; only the newest few are kept."""
    topology, cache = tmp_path / "topology.json", tmp_path / "cache"
    for size in range(topology_cache.KEEP + 3):
        write(topology, {"populations": {"aws_instance": size}})
        read_topology(topology, cache=cache)
    assert len(list(cache.glob("topology-*.marshal"))) == topology_cache.KEEP
    assert entry_of(cache, topology).is_file()


def test_the_cache_directory_can_be_overridden(tmp_path: Path) -> None:
    """COMMANDER_CACHE_DIR wins; otherwise the user's cache directory."""
    assert cache_dir({ENV_CACHE_DIR: str(tmp_path)}) == tmp_path
    assert cache_dir({}).name == "commander"
