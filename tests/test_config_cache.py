"""The parsed policy files are cached by content: same policy, never a stale one."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from orchestrator import yamlfile
from orchestrator.config import LoadedConfig, load_config, shipped_config_dir
from orchestrator.errors import ConfigError
from orchestrator.policies import PolicyBundle


def _parsed(config: LoadedConfig) -> tuple[object, ...]:
    return (
        config.commander,
        dict(config.reviewer_sections),
        config.resource_types,
        config.diff_paths,
        config.policy_version,
    )


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("config-*.marshal"))


def _new_process() -> None:
    """Forget what this process parsed, as a new process starts."""
    yamlfile._parsed.clear()
    yamlfile._lines.clear()


def test_a_cached_policy_is_the_policy_parsed(tmp_path: Path) -> None:
    """The second load reads the cache entry and gives exactly what parsing gave."""
    cache = tmp_path / "cache"
    fresh = load_config()
    first = load_config(cache=cache)
    assert len(_entries(cache)) == 1
    _new_process()
    second = load_config(cache=cache)
    assert _parsed(fresh) == _parsed(first) == _parsed(second)


def test_the_cache_is_what_is_read(tmp_path: Path) -> None:
    """An entry for these texts is used as it is: the cache does save the parse."""
    cache, user = tmp_path / "cache", tmp_path / "config"
    (user / "reviewers").mkdir(parents=True)
    section = user / "reviewers" / "acme.yaml"
    section.write_text("limit: 5\n", encoding="utf-8")
    load_config(user, cache=cache)
    (entry,) = _entries(cache)
    version, kind, key, forms = marshal.loads(entry.read_bytes())  # noqa: S302 - our own file
    text_key = next(k for k, (v, _) in forms.items() if marshal.loads(v) == {"limit": 5})  # noqa: S302
    forms[text_key] = (marshal.dumps({"limit": 6}), forms[text_key][1])
    entry.write_bytes(marshal.dumps((version, kind, key, forms)))
    _new_process()
    assert load_config(user, cache=cache).reviewer_sections["acme"][0] == {"limit": 6}


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    """A changed file is a new content key: its new value is read, never the cached one."""
    cache, user = tmp_path / "cache", tmp_path / "config"
    (user / "reviewers").mkdir(parents=True)
    section = user / "reviewers" / "acme.yaml"
    section.write_text("limit: 5\n", encoding="utf-8")
    assert load_config(user, cache=cache).reviewer_sections["acme"][0] == {"limit": 5}
    section.write_text("limit: 7\n", encoding="utf-8")
    _new_process()
    assert load_config(user, cache=cache).reviewer_sections["acme"][0] == {"limit": 7}
    assert len(_entries(cache)) == 2


def test_a_broken_file_is_still_reported_with_its_place(tmp_path: Path) -> None:
    """A file that does not parse is not cached: the error names it, every time."""
    cache, user = tmp_path / "cache", tmp_path / "config"
    (user / "reviewers").mkdir(parents=True)
    bad = user / "reviewers" / "acme.yaml"
    bad.write_text("limit: [1,\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError) as raised:
            load_config(user, cache=cache)
        assert str(bad) in str(raised.value)


def test_each_caller_gets_its_own_copy(tmp_path: Path) -> None:
    """Changing parsed data one caller was given never changes what the next one gets."""
    load_config(cache=tmp_path)
    text = (shipped_config_dir() / "reviewers" / "contrarian.yaml").read_text(encoding="utf-8")
    first = yamlfile.parse_yaml(text, "x")
    first.clear()
    assert yamlfile.parse_yaml(text, "x")


def test_a_cached_policy_says_where_its_rules_are_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules' lines come with the cached texts: the same places, and no YAML parsed."""
    cache = tmp_path / "cache"
    _new_process()
    parsed = PolicyBundle.from_sources(load_config().policy_sources)
    assert parsed.rule_origins, "the shipped policy has rules"
    load_config(cache=cache)
    _new_process()

    def no_yaml(text: str, *args: object) -> object:
        raise AssertionError(f"parsed again: {text[:40]!r}")

    monkeypatch.setattr(yamlfile, "_parse", no_yaml)
    monkeypatch.setattr(yamlfile, "_compose_lines", no_yaml)
    cached = PolicyBundle.from_sources(load_config(cache=cache).policy_sources)
    assert dict(cached.rule_origins) == dict(parsed.rule_origins)
    assert cached.rules == parsed.rules
