"""Loading the policy: shipped defaults, per-file overrides, policy version, located errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.config import load_config, shipped_config_dir
from orchestrator.errors import ConfigError
from orchestrator.models import RiskTier

SHIPPED_DIR = shipped_config_dir()

BASE = """\
version: "t1"
tiers:
  low:
    outcome: approve
  medium:
    outcome: approve-unless-objection
  high:
    outcome: escalate
    approvals: [senior-engineer, team-lead]
  critical:
    outcome: escalate
    approvals: [senior-engineer, security, change-board]
"""


def write(directory: Path, relative: str, text: str) -> Path:
    """Write one config file under a user config directory."""
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads() -> None:
    """With no user directory the shipped policy loads, every tier and reviewer section included."""
    config = load_config()
    assert config.directory == SHIPPED_DIR
    assert config.commander.version == "2026.11"
    assert set(config.commander.tiers) == set(RiskTier)
    assert config.commander.tiers[RiskTier.HIGH].approvals == ("senior-engineer", "team-lead")
    assert {"blast-radius", "contrarian"} <= set(config.reviewer_sections)
    assert config.resource_types[1] == str(SHIPPED_DIR / "resource-types.yaml")
    assert "categories" in config.resource_types[0]
    assert config.policy_version.startswith("2026.11+")


def test_user_dir_overrides_one_file_and_keeps_the_rest(tmp_path: Path) -> None:
    """A user directory with only reviewers/contrarian.yaml replaces that file alone."""
    path = write(tmp_path, "reviewers/contrarian.yaml", "fanout_services: 3\n")
    config = load_config(tmp_path)
    data, _, origin = config.reviewer_sections["contrarian"]
    assert (data, origin) == ({"fanout_services": 3}, str(path))
    assert config.reviewer_sections["blast-radius"][2] == str(
        SHIPPED_DIR / "reviewers" / "blast-radius.yaml"
    )
    assert config.commander.version == "2026.11"
    assert config.resource_types[1] == str(SHIPPED_DIR / "resource-types.yaml")


def test_user_commander_yaml_replaces_the_shipped_one(tmp_path: Path) -> None:
    """A user commander.yaml is the policy; the reviewer sections still come from the defaults."""
    write(tmp_path, "commander.yaml", BASE + "reviewer_timeouts: {scope: 2.5}\n")
    config = load_config(tmp_path)
    assert config.commander.version == "t1"
    assert config.policy_version.startswith("t1+")
    assert config.commander.timeout_for("scope") == 2.5
    assert config.commander.timeout_for("contrarian") == 10.0
    assert "blast-radius" in config.reviewer_sections


def test_user_dir_may_add_a_reviewer_section(tmp_path: Path) -> None:
    """A third-party reviewer's section in the user directory is loaded beside the built-ins."""
    write(tmp_path, "reviewers/acme-cost.yaml", "monthly_limit: 500\n")
    sections = load_config(tmp_path).reviewer_sections
    assert sections["acme-cost"][0] == {"monthly_limit": 500}
    assert "contrarian" in sections


def test_policy_version_is_stable_for_the_same_files(tmp_path: Path) -> None:
    """The same policy files give the same policy version, wherever they are read from."""
    shipped = load_config().policy_version
    assert load_config().policy_version == shipped
    (tmp_path / "reviewers").mkdir()
    shutil.copy(SHIPPED_DIR / "reviewers" / "contrarian.yaml", tmp_path / "reviewers")
    shutil.copy(SHIPPED_DIR / "commander.yaml", tmp_path)
    assert load_config(tmp_path).policy_version == shipped


@pytest.mark.parametrize(
    ("relative", "edit"),
    [
        # A setting is changed in place: written twice, the file would be refused.
        pytest.param(
            "reviewers/contrarian.yaml",
            lambda text: text.replace("fanout_services: 10", "fanout_services: 11"),
            id="reviewer-setting",
        ),
        pytest.param(
            "commander.yaml",
            lambda text: text + "# a comment is a change too\n",
            id="commander-comment",
        ),
        pytest.param("reviewers/acme.yaml", lambda text: text + "limit: 1\n", id="new-section"),
    ],
)
def test_policy_version_changes_when_a_file_changes(
    tmp_path: Path, relative: str, edit: Callable[[str], str]
) -> None:
    """Any change to a policy file gives a new policy version."""
    shipped_file = SHIPPED_DIR / relative
    original = shipped_file.read_text(encoding="utf-8") if shipped_file.is_file() else ""
    assert edit(original) != original
    write(tmp_path, relative, edit(original))
    assert load_config(tmp_path).policy_version != load_config().policy_version


def test_missing_config_directory_is_an_error(tmp_path: Path) -> None:
    """Pointing --config at a directory that does not exist fails instead of using defaults."""
    with pytest.raises(ConfigError, match="config directory does not exist"):
        load_config(tmp_path / "nope")


@pytest.mark.parametrize(
    ("text", "marker", "needle"),
    [
        pytest.param(
            BASE + "reviewer_timeout_secs: 5\n",
            "reviewer_timeout_secs",
            "reviewer_timeout_secs: Extra inputs are not permitted",
            id="typo-key",
        ),
        pytest.param(
            BASE + "reviewer_timeout_seconds: soon\n",
            "reviewer_timeout_seconds",
            "reviewer_timeout_seconds: 'soon' should be a valid number",
            id="wrong-type",
        ),
        pytest.param(
            BASE + "reviewer_timeout_seconds: 0\n",
            "reviewer_timeout_seconds",
            "greater than 0",
            id="zero-timeout",
        ),
        pytest.param(
            BASE.replace("outcome: approve\n", "outcome: maybe\n"),
            "outcome: maybe",
            "tiers.low.outcome",
            id="bad-tier-outcome",
        ),
        pytest.param(
            BASE + "  urgent:\n    outcome: escalate\n", "urgent", "tiers.urgent", id="unknown-tier"
        ),
        pytest.param(
            BASE.split("  critical:", maxsplit=1)[0],
            "tiers:",
            "no policy for tier(s) critical",
            id="missing-tier",
        ),
        pytest.param(
            BASE + "aggregation:\n  ai_agent_critcal: reject\n",
            "ai_agent_critcal",
            "aggregation.ai_agent_critcal",
            id="aggregation-typo",
        ),
        pytest.param(
            BASE + "aggregation:\n  ai_agent_critical: allow\n",
            "ai_agent_critical",
            "aggregation.ai_agent_critical",
            id="aggregation-value",
        ),
        pytest.param(
            BASE + "max_input_bytes: 10: 20\n", "max_input_bytes", "invalid YAML", id="broken-yaml"
        ),
    ],
)
def test_bad_commander_yaml_names_file_and_line(
    tmp_path: Path, text: str, marker: str, needle: str
) -> None:
    """A mistake in commander.yaml is a one-line ConfigError with the file and the line."""
    path = write(tmp_path, "commander.yaml", text)
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if marker in row)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert needle in message
    assert "\n" not in message


def test_bad_reviewer_yaml_syntax_names_file_and_line(tmp_path: Path) -> None:
    """A reviewer section that is not YAML fails at load, naming the file and line."""
    path = write(tmp_path, "reviewers/scope.yaml", "a: 1\nb: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"^{path}: line \d+: invalid YAML"):
        load_config(tmp_path)
