"""A key written twice in any YAML file commander reads is an error naming the file and line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.adapters.commands_schema import compile_catalog
from orchestrator.adapters.kubernetes_load import load_objects
from orchestrator.agents import AgentRegistry
from orchestrator.config import load_config
from orchestrator.errors import ConfigError, InputError
from orchestrator.graph.backstage import load_catalog
from orchestrator.graph.topology import parse_topology
from orchestrator.policies.bundle import PolicyBundle
from orchestrator.rulebook import Rulebook
from orchestrator.service.auth import Authenticator
from orchestrator.shipped import shipped_config_dir
from orchestrator.yamlfile import parse_yaml

SHA = "0" * 64


def _tokens(path: Path, text: str) -> object:
    path.write_text(text, encoding="utf-8")
    return Authenticator.from_file(path)


def _config(path: Path, text: str) -> object:
    path.mkdir()
    (path / "commander.yaml").write_text(text, encoding="utf-8")
    return load_config(path)


def _catalog(path: Path, text: str) -> object:
    path.write_text(text, encoding="utf-8")
    return load_catalog(path)


READERS: dict[str, tuple[Callable[[Path, str], object], str]] = {
    "tokens file": (
        _tokens,
        f"principals:\n- {{name: a, roles: [ci], token_sha256: '{SHA}'}}\n"
        f"principals:\n- {{name: b, roles: [ci], token_sha256: '{'1' * 64}'}}\n",
    ),
    "commander.yaml": (_config, "version: '1'\nversion: '2'\n"),
    "topology": (
        lambda p, t: parse_topology(t.encode(), str(p)),
        "services:\n  a: {criticality: low}\n  a: {criticality: critical}\n",
    ),
    "policy file": (
        lambda p, t: PolicyBundle.from_sources([("policies/p.yaml", t, str(p))]),
        "rules: []\nrules: []\n",
    ),
    "agents.yaml": (lambda p, t: AgentRegistry.from_text(t, str(p)), "a: 1\na: 2\n"),
    "commands.yaml": (
        lambda p, t: compile_catalog({"commands.yaml": (t, str(p)), "diff-paths.yaml": ("", "d")}),
        "programs: {}\nprograms: {}\n",
    ),
    "rulebook": (lambda p, t: Rulebook.from_text(t, str(p)), "- id: a\n  id: b\n"),
    "backstage catalog": (
        _catalog,
        "kind: Component\nmetadata: {name: a}\nmetadata: {name: b}\n",
    ),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_refuses_a_duplicate_key_naming_file_and_line(
    tmp_path: Path, reader: str
) -> None:
    """Each YAML the project reads goes through the one loader that refuses a repeated key."""
    read, text = READERS[reader]
    where = tmp_path / "file.yaml"
    with pytest.raises(ConfigError, match="duplicate key") as caught:
        read(where, text)
    message = str(caught.value)
    assert str(where) in message
    assert "line " in message
    assert "(first at line " in message


def test_a_kubernetes_manifest_with_a_repeated_field_is_refused() -> None:
    """A manifest whose second `privileged:` would hide the first is not reviewed.

    kubectl refuses such a manifest too.
    """
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  containers:\n  - name: c\n    securityContext:\n"
        "      privileged: true\n      privileged: false\n"
    )
    with pytest.raises(
        InputError,
        match=r"pod.yaml: line 9: invalid YAML: duplicate key 'privileged' \(first at line 8\)",
    ):
        load_objects(text, "pod.yaml")


def test_the_error_names_the_second_line_and_the_first() -> None:
    """The message points at the repeated key and says where the first one is."""
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\n", "x.yaml")
    assert str(caught.value) == (
        "x.yaml: line 4: invalid YAML: duplicate key 'c' (first at line 3); "
        "a key may appear once in a mapping"
    )


def test_merge_keys_may_still_be_overridden() -> None:
    """`<<: *base` then an explicit key is YAML's override, not a duplicate."""
    text = "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  x: 3\n"
    assert parse_yaml(text, "m.yaml")["thing"] == {"x": 3, "y": 2}


def test_the_shipped_configs_have_no_duplicate_keys() -> None:
    """Every YAML file shipped parses with the strict loader."""
    for path in sorted(shipped_config_dir().rglob("*.yaml")):
        parse_yaml(path.read_text(encoding="utf-8"), str(path))


def test_appending_token_new_twice_is_refused_at_serve_start(run_cli: Any, tmp_path: Path) -> None:
    """`token new … >> tokens.yaml` twice: two `principals:` keys; serve names the line, exits 1."""
    tokens = tmp_path / "tokens.yaml"
    for name in ("a", "b"):
        made = run_cli("token", "new", name, "--role", "ci")
        assert made.code == 0, made.stderr
        with tokens.open("a", encoding="utf-8") as out:
            out.write(made.stdout)
    result = run_cli("serve", "--tokens", str(tokens), "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.code == 1
    assert result.stderr == (
        f"commander: error: {tokens}: line 6: invalid YAML: "
        "duplicate key 'principals' (first at line 1); a key may appear once in a mapping; "
        "add principals with `commander token new NAME --role ROLE --file FILE`\n"
    ), result.stderr


def test_token_new_file_adds_each_principal_and_keeps_the_rest(
    run_cli: Any, tmp_path: Path
) -> None:
    """`token new NAME --file tokens.yaml` appends; every token made so works; comments survive."""
    tokens = tmp_path / "tokens.yaml"
    made = {}
    for name in ("ci", "alice"):
        result = run_cli("token", "new", name, "--role", "ci", "--file", str(tokens))
        assert result.code == 0, result.stderr
        made[name] = result.stderr.splitlines()[-1]
        if name == "ci":
            tokens.write_text("# our pipelines\n" + tokens.read_text(encoding="utf-8"))
    assert result.stdout.strip() == f"{tokens}: added alice (2 principals)"
    assert tokens.read_text(encoding="utf-8").startswith("# our pipelines\n")
    auth = Authenticator.from_file(tokens)
    assert {name: auth.principal(token).name for name, token in made.items()} == {  # type: ignore[union-attr]
        "ci": "ci",
        "alice": "alice",
    }
    assert tokens.stat().st_mode & 0o077 == 0  # the hashes are not for everyone's eyes


def test_token_new_file_refuses_a_name_already_there(run_cli: Any, tmp_path: Path) -> None:
    """A second principal of one name is refused and the file is left as it was."""
    tokens = tmp_path / "tokens.yaml"
    assert run_cli("token", "new", "ci", "--role", "ci", "--file", str(tokens)).code == 0
    before = tokens.read_text(encoding="utf-8")
    again = run_cli("token", "new", "ci", "--role", "ci", "--file", str(tokens))
    assert again.code == 1
    assert (
        again.stderr
        == f"commander: error: {tokens}: a principal named 'ci' is already in the file\n"
    )
    assert tokens.read_text(encoding="utf-8") == before


def test_token_new_file_extends_a_flow_style_file(tmp_path: Path) -> None:
    """A file the entry cannot be appended to as text is written out again with every principal."""
    from orchestrator.service.auth import Principal
    from orchestrator.service.tokens_file import add_principal

    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"principals: [{{name: a, roles: [ci], token_sha256: '{SHA}'}}]\n")
    entry = Principal.model_validate({"name": "b", "roles": ["ci"], "token_sha256": "1" * 64})
    assert add_principal(tokens, entry) == 2
    names = [p["name"] for p in yaml.safe_load(tokens.read_text())["principals"]]
    assert names == ["a", "b"]
    shutil.rmtree(tmp_path / "none", ignore_errors=True)
    with pytest.raises(ConfigError, match="no directory"):
        add_principal(tmp_path / "none" / "t.yaml", entry)
