"""Reviewer plugins: discovery, validation messages, and settings checked at load time."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from orchestrator import registry
from orchestrator.config import load_config
from orchestrator.errors import ConfigError, PluginError
from orchestrator.models import Proposal, RiskTier, Verdict
from orchestrator.registry import (
    GROUP,
    discover,
    load_entry_point,
    parse_settings,
    validate_reviewer,
)
from orchestrator.reviewer import ReviewContext
from reviewers.blast_radius import BlastRadiusReviewer, BlastRadiusSettings
from reviewers.contrarian import ContrarianReviewer, ContrarianSettings

LABEL = "x[acme.review:Plugin]"


class GoodReviewer:
    """A well-formed plugin."""

    name = "x"
    stage = 2
    settings_model = ContrarianSettings

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Approve."""
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


class SyncReviewer(GoodReviewer):
    """review() is a plain function."""

    def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:  # type: ignore[override]
        """Approve synchronously."""
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


def variant(**attributes: Any) -> type:
    """A subclass of GoodReviewer with some attributes replaced."""
    return type("Variant", (GoodReviewer,), attributes)


class NeedsArguments(GoodReviewer):
    """A class that cannot be built without arguments."""

    def __init__(self, url: str) -> None:
        self.url = url


class NoReview:
    """Has a name and nothing else."""

    name = "x"


@pytest.mark.parametrize(
    ("target", "expected_name", "message"),
    [
        pytest.param(SyncReviewer, None, "review() must be async", id="sync-review"),
        pytest.param(variant(name=None), None, "has no 'name' string attribute", id="no-name"),
        pytest.param(variant(name=""), None, "has no 'name' string attribute", id="empty-name"),
        pytest.param(variant(stage=3), None, "stage must be 1 or 2, not 3", id="stage-3"),
        pytest.param(
            variant(settings_model=dict),
            None,
            "settings_model must be a pydantic model class",
            id="settings-not-pydantic",
        ),
        pytest.param(
            variant(settings_model=ContrarianSettings()),
            None,
            "settings_model must be a pydantic model class",
            id="settings-instance",
        ),
        pytest.param(
            GoodReviewer,
            "acme-x",
            "entry point name 'acme-x' differs from name 'x'",
            id="name-mismatch",
        ),
        pytest.param(NeedsArguments, None, "cannot be instantiated without arguments", id="args"),
        pytest.param(NoReview, None, "has no review() method", id="no-review"),
    ],
)
def test_invalid_plugins_are_refused_with_their_name(
    target: Any, expected_name: str | None, message: str
) -> None:
    """A plugin that breaks the contract is refused, and the message names the plugin."""
    with pytest.raises(PluginError) as caught:
        validate_reviewer(target, label=LABEL, expected_name=expected_name)
    assert str(caught.value).startswith(f"reviewer '{LABEL}': {message}")


def test_sync_review_message_is_exact() -> None:
    """The documented message for a synchronous review() is one precise line."""
    with pytest.raises(PluginError) as caught:
        validate_reviewer(SyncReviewer, label="acme[blast]")
    assert str(caught.value) == "reviewer 'acme[blast]': review() must be async"


@pytest.mark.parametrize("target", [GoodReviewer, GoodReviewer()], ids=["class", "instance"])
def test_valid_plugin_is_loaded_into_a_record(target: Any) -> None:
    """A class is instantiated, an instance used as is; stage and settings model are kept."""
    record = validate_reviewer(target, label=LABEL, expected_name="x")
    assert isinstance(record.reviewer, GoodReviewer)
    assert (record.name, record.stage, record.settings_model, record.origin) == (
        "x",
        2,
        ContrarianSettings,
        LABEL,
    )


def test_stage_defaults_to_one() -> None:
    """A plugin that declares no stage runs in stage 1."""

    class Plain:
        name = "plain"

        async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
            """Approve."""
            return Verdict(
                reviewer="plain", stance="approve", risk_tier=RiskTier.LOW, confidence=1.0
            )

    record = validate_reviewer(Plain, label="plain[t]")
    assert (record.stage, record.settings_model) == (1, None)


def test_unimportable_entry_point_names_itself() -> None:
    """An entry point whose module is missing is a PluginError naming it, not an ImportError."""
    ep = EntryPoint("acme-cost", "acme_not_installed.cost:CostReviewer", GROUP)
    with pytest.raises(
        PluginError,
        match=r"^reviewer 'acme-cost\[acme_not_installed\.cost:"
        r"CostReviewer\]': cannot be imported: "
        r"ModuleNotFoundError",
    ):
        load_entry_point(ep)


def test_discover_finds_the_five_built_ins_in_sorted_order() -> None:
    """The built-in reviewers are installed entry points and load sorted by name."""
    loaded = discover()
    names = ["blast-radius", "contrarian", "policy", "reversibility", "scope"]
    assert [r.name for r in loaded] == names
    assert [r.stage for r in loaded] == [1, 2, 1, 1, 1]
    assert all(r.origin.startswith(f"{r.name}[reviewers.") for r in loaded)


def test_discover_skips_disabled_reviewers() -> None:
    """disabled_reviewers keeps a built-in from loading at all."""
    assert [r.name for r in discover(disabled=["contrarian", "scope"])] == [
        "blast-radius",
        "policy",
        "reversibility",
    ]


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[EntryPoint]) -> None:
    """Make the registry see exactly these entry points."""
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [e for e in eps if e.group == group]
    )


def test_discovery_order_does_not_depend_on_install_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """However the environment lists the plugins, they load sorted by name."""
    fake_entry_points(
        monkeypatch,
        [
            EntryPoint("contrarian", "reviewers.contrarian:ContrarianReviewer", GROUP),
            EntryPoint("blast-radius", "reviewers.blast_radius:BlastRadiusReviewer", GROUP),
            EntryPoint("unrelated", "os:getcwd", "other.group"),
        ],
    )
    assert [r.name for r in discover()] == ["blast-radius", "contrarian"]


def test_duplicate_plugin_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two plugins registering one name is a PluginError naming both."""
    fake_entry_points(
        monkeypatch,
        [
            EntryPoint("contrarian", "reviewers.contrarian:ContrarianReviewer", GROUP),
            EntryPoint("contrarian", "zz_acme.contrarian:Better", GROUP),
        ],
    )
    with pytest.raises(PluginError, match=r"name already registered by contrarian\[reviewers"):
        discover()


def test_no_reviewer_installed_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no reviewer at all, commander refuses to run instead of approving unreviewed."""
    fake_entry_points(monkeypatch, [])
    with pytest.raises(ConfigError, match="no reviewer is installed"):
        discover()


def built_ins() -> list[registry.LoadedReviewer]:
    """The two reviewers whose settings these tests exercise."""
    return [
        validate_reviewer(BlastRadiusReviewer, label="blast-radius[t]"),
        validate_reviewer(ContrarianReviewer, label="contrarian[t]"),
    ]


def test_settings_section_for_no_installed_reviewer_is_an_error() -> None:
    """A misspelt reviewers/<name>.yaml fails at load time instead of leaving defaults."""
    sections = {"blast-radus": ({}, "", "configs/reviewers/blast-radus.yaml")}
    with pytest.raises(ConfigError, match=r"blast-radus\.yaml.*no installed reviewer"):
        parse_settings(built_ins(), sections)


def test_shipped_reviewer_settings_parse() -> None:
    """The shipped reviewer sections validate into their settings models."""
    parsed = parse_settings(
        built_ins(), load_config().reviewer_sections, known=("scope", "reversibility")
    )
    assert isinstance(parsed["blast-radius"], BlastRadiusSettings)
    assert isinstance(parsed["contrarian"], ContrarianSettings)
    assert parsed["blast-radius"].bulk_block_fraction == 0.10


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        pytest.param(
            "fanout_services: 10\npopulation_min: 10\nfanout_servces: 3\n",
            3,
            "fanout_servces: Extra inputs are not permitted",
            id="typo",
        ),
        pytest.param("# comment\nfanout_services: many\n", 2, "fanout_services", id="wrong-type"),
        pytest.param("population_share: 1.5\n", 1, "population_share", id="out-of-range"),
    ],
)
def test_bad_reviewer_section_names_file_and_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    """A mistake in reviewers/<name>.yaml is a ConfigError at load time with file and line."""
    (tmp_path / "reviewers").mkdir()
    path = tmp_path / "reviewers" / "contrarian.yaml"
    path.write_text(text, encoding="utf-8")
    sections = load_config(tmp_path).reviewer_sections
    with pytest.raises(ConfigError) as caught:
        parse_settings(built_ins(), sections, known=("scope", "reversibility"))
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert needle in message


def test_reviewer_without_settings_model_gets_its_raw_section() -> None:
    """A plugin with no settings model receives its YAML section unvalidated."""

    record = validate_reviewer(variant(name="acme", settings_model=None), label="acme[t]")
    sections = {"acme": ({"limit": 3}, "limit: 3\n", "reviewers/acme.yaml")}
    assert parse_settings([record], sections) == {"acme": {"limit": 3}}
    assert parse_settings([record], {}) == {}
