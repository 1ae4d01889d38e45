"""Native YAML policy rules: validation at load time and what each match field selects."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.catalog import ResourceCatalog
from orchestrator.config import load_config, shipped_config_dir
from orchestrator.errors import ConfigError
from orchestrator.models import Action, Environment, Proposal, ResourceChange, Source
from orchestrator.policies import PolicyBundle
from orchestrator.policies.matcher import evaluate_rules

CATALOG = ResourceCatalog.load_default()
A, H, AUTO = Source.AI_AGENT, Source.HUMAN, Source.AUTOMATION
PROD, STG, DEV = Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT
C, U, D, R = Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE


def bundle_of(text: str, name: str = "rules.yaml") -> PolicyBundle:
    """A bundle from one rule file's text."""
    return PolicyBundle.from_sources([(f"policies/{name}", textwrap.dedent(text), name)])


def change(address: str, action: Action = U, **extra: object) -> ResourceChange:
    rtype = extra.pop("type", None) or address.split(".")[-2].split("[", maxsplit=1)[0]
    return ResourceChange(address=address, type=str(rtype), action=action, **extra)  # type: ignore[arg-type]


def proposal(*changes: ResourceChange, env: Environment = PROD, actor: str = "bot-1") -> Proposal:
    return Proposal(
        kind="terraform",
        source=A,
        actor=actor,
        environment=env,
        environment_name=env.value,
        changes=changes,
    )


def fired(
    rule_yaml: str,
    prop: Proposal,
    *,
    source: Source = A,
    populations: dict[str, int] | None = None,
) -> bool:
    """Whether the one rule in `rule_yaml` matches the proposal."""
    text = "rules:\n" + textwrap.indent(textwrap.dedent(rule_yaml), "  ")
    rules = bundle_of(text).rules
    hits = evaluate_rules(
        rules, prop, source=source, catalog=CATALOG, populations=populations or {}
    )
    return bool(hits)


RULE = """\
- id: t.rule
  message: m
  effect: warn
  enforcement: hard-mandatory
"""


def test_shipped_policies_load_and_every_rule_is_documented() -> None:
    """The shipped rule files validate; every rule has a description and a unique id."""
    config = load_config()
    bundle = PolicyBundle.from_sources(config.policy_sources)
    assert len(bundle.rules) >= 5
    assert all(r.description for r in bundle.rules)
    assert {r.effect for r in bundle.rules} == {"deny", "require-approval", "warn"}
    assert {r.enforcement for r in bundle.rules} == {
        "advisory",
        "soft-mandatory",
        "hard-mandatory",
    }
    shipped = str(shipped_config_dir() / "policies")
    assert all(o.startswith(shipped) and ": line " in o for o in bundle.rule_origins.values())


# (a rule file, the line the error must name, a word the message must hold)
TYPOS = [
    ("rules:\n  - id: a\n    message: m\n    efect: deny\n    enforcement: advisory\n", 4, "efect"),
    ("rules:\n  - id: a\n    message: m\n    effect: deny\n", 2, "enforcement"),
    (
        "rules:\n  - id: a\n    message: m\n    effect: deny\n    enforcement: shadow\n",
        5,
        "enforcement",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: block\n    enforcement: advisory\n",
        4,
        "effect",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: advisory\n"
        "    match:\n      environments: [prodution]\n",
        7,
        "prodution",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: advisory\n"
        "    match:\n      actions: [destroy]\n",
        7,
        "actions",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: advisory\n"
        "    match:\n      resource_types: [aws_*]\n",
        7,
        "resource_types",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: advisory\n"
        "    when:\n      deletions: {at_least: 3}\n",
        7,
        "deletions",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: advisory\n"
        "    when:\n      deletes: {atleast: 3}\n",
        7,
        "atleast",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: require-approval\n"
        "    enforcement: soft-mandatory\n",
        2,
        "tier or roles",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: deny\n    enforcement: hard-mandatory\n"
        "    roles: [security]\n",
        2,
        "roles only",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: deny\n    enforcement: hard-mandatory\n"
        "    match:\n      sources: [human]\n",
        2,
        "ai-agent",
    ),
    (
        "rules:\n  - id: policy.agent.mine\n    message: m\n    effect: warn\n"
        "    enforcement: advisory\n",
        2,
        "reserved",
    ),
    (
        "rules:\n  - id: a\n    message: m\n    effect: warn\n    enforcement: [advisory\n",
        6,
        "YAML",
    ),
    ("rego:\n  missing.package: {enforcement: advisory}\n", 2, "missing.package"),
    ("rulez: []\n", 1, "rulez"),
]


@pytest.mark.parametrize(("text", "line", "needle"), TYPOS)
def test_a_typo_in_a_rule_file_is_an_error_naming_file_and_line(
    tmp_path: Path, text: str, line: int, needle: str
) -> None:
    """A misspelt key or value fails loading with the file and line, never a silent pass."""
    path = tmp_path / "team.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        PolicyBundle.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line}: "), message
    assert needle in message


def test_a_rule_id_defined_twice_names_both_places(tmp_path: Path) -> None:
    """Two files defining one rule id is an error naming the second place and the first."""
    (tmp_path / "a.yaml").write_text("rules:\n" + textwrap.indent(RULE, "  "), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        "description: x\nrules:\n" + textwrap.indent(RULE, "  "), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        PolicyBundle.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'b.yaml'}: line 3: ")
    assert f"{tmp_path / 'a.yaml'}: line 2" in str(caught.value)


def test_a_user_file_replaces_the_shipped_file_of_that_name(tmp_path: Path) -> None:
    """An empty policies/ai-agents.yaml in the user directory switches the shipped one off."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "ai-agents.yaml").write_text("", encoding="utf-8")
    config = load_config(tmp_path)
    ids = {r.id for r in PolicyBundle.from_sources(config.policy_sources).rules}
    assert not any(i.startswith("policy.ai-agent.") for i in ids)
    assert "policy.production.secrets" in ids
    assert config.policy_version != load_config().policy_version


def test_environment_aliases_are_accepted_and_canonical() -> None:
    """`prod` in a rule means production, as it does on the command line."""
    rules = bundle_of(
        "rules:\n" + textwrap.indent(RULE + "  match: {environments: [prod, stg, sandbox]}\n", "  ")
    ).rules
    assert rules[0].match.environments == (PROD, STG, DEV)


# (match / when block, the proposal, the judged source, whether the rule fires)
IAM = change("aws_iam_role.app")
K8S_ROLE = "rbac.authorization.k8s.io/v1/ClusterRole"


def file_change(path: str, category: str) -> ResourceChange:
    return ResourceChange(address=path, type="file", action=U, category=category)


BUCKET = change("aws_s3_bucket.logs", C)
# fmt: off
MATCH_TABLE = [
    ("match: {sources: [ai-agent]}", proposal(IAM), A, True),
    ("match: {sources: [ai-agent]}", proposal(IAM), H, False),
    ("match: {sources: [automation]}", proposal(IAM), AUTO, True),
    ("match: {actors: ['refactor-*']}", proposal(IAM, actor="refactor-bot"), A, True),
    ("match: {actors: ['refactor-*']}", proposal(IAM, actor="docs-bot"), A, False),
    ("match: {environments: [production]}", proposal(IAM), A, True),
    ("match: {environments: [development]}", proposal(IAM), A, False),
    ("match: {environments: [dev]}", proposal(IAM, env=DEV), A, True),
    ("match: {types: ['aws_iam_*']}", proposal(IAM), A, True),
    ("match: {types: ['aws_iam_*']}", proposal(BUCKET), A, False),
    ("match: {types: [ClusterRole]}", proposal(change("r", type=K8S_ROLE)), A, True),
    ("match: {addresses: ['module.pay.*']}", proposal(change("module.pay.a_b.c")), A, True),
    ("match: {addresses: ['module.pay.*']}", proposal(change("module.shop.a_b.c")), A, False),
    ("match: {addresses: ['a_b.x[*]']}", proposal(change('a_b.x["k"]')), A, True),
    ("match: {addresses: ['a_b.x[k]']}", proposal(change("a_b.xk")), A, False),
    ("match: {actions: [delete]}", proposal(change("aws_s3_bucket.b", D)), A, True),
    ("match: {actions: [delete]}", proposal(change("aws_s3_bucket.b", R)), A, False),
    ("match: {actions: [create, replace]}", proposal(change("aws_s3_bucket.b", R)), A, True),
    ("match: {categories: [iam]}", proposal(IAM), A, True),
    ("match: {categories: [iam]}", proposal(BUCKET), A, False),
    ("match: {categories: [infra]}", proposal(BUCKET), A, True),
    ("match: {categories: [docs]}", proposal(file_change("README.md", "docs")), A, True),
    ("match: {categories: [docs]}", proposal(file_change("main.py", "app-code")), A, False),
    # reads and no-ops change nothing, so nothing matches them
    ("match: {types: ['aws_iam_*']}", proposal(change("aws_iam_role.r", Action.NOOP)), A, False),
    # every given matcher must hold
    ("match: {types: ['aws_iam_*'], actions: [delete]}", proposal(IAM), A, False),
]
# fmt: on


@pytest.mark.parametrize(("block", "prop", "source", "expected"), MATCH_TABLE)
def test_each_match_field_selects_what_it_names(
    block: str, prop: Proposal, source: Source, expected: bool
) -> None:
    """Each matcher selects by its field; an empty matcher selects every effective change."""
    assert fired(RULE + "  " + block + "\n", prop, source=source) is expected


def _deletes(n: int, total: int, rtype: str = "aws_instance") -> Proposal:
    changes = [change(f"{rtype}.i[{i}]", D if i < n else U) for i in range(total)]
    return proposal(*changes)


# (when block, proposal, populations, fires)
WHEN_TABLE = [
    ("when: {deletes: {at_least: 3}}", _deletes(3, 5), {}, True),
    ("when: {deletes: {at_least: 3}}", _deletes(2, 5), {}, False),
    ("when: {deletes: {more_than: 3}}", _deletes(3, 5), {}, False),
    ("when: {changes: {at_most: 4}}", _deletes(0, 5), {}, False),
    ("when: {changes: {less_than: 6}}", _deletes(0, 5), {}, True),
    ("when: {updates: {at_least: 2}, deletes: {at_least: 3}}", _deletes(3, 5), {}, True),
    ("when: {updates: {at_least: 3}, deletes: {at_least: 3}}", _deletes(3, 5), {}, False),
    ("when: {creates: {at_least: 1}}", proposal(BUCKET), {}, True),
    ("when: {replaces: {at_least: 1}}", proposal(change("aws_s3_bucket.b", R)), {}, True),
    (
        "when: {destroyed: {at_least: 2}}",
        proposal(change("a_b.c", R), change("a_b.d", D)),
        {},
        True,
    ),
    # 3 of the 100 instances the topology declares: 3%
    ("when: {destroyed_share: {at_least: 0.05}}", _deletes(3, 5), {"aws_instance": 100}, False),
    ("when: {destroyed_share: {at_least: 0.03}}", _deletes(3, 5), {"aws_instance": 100}, True),
    # without a declared population, the touched resources are the population: 3 of 5
    ("when: {destroyed_share: {at_least: 0.6}}", _deletes(3, 5), {}, True),
    ("when: {touched_share: {at_least: 0.05}}", _deletes(0, 5), {"aws_instance": 100}, True),
    ("when: {touched_share: {more_than: 0.05}}", _deletes(0, 5), {"aws_instance": 100}, False),
]


@pytest.mark.parametrize(("block", "prop", "populations", "expected"), WHEN_TABLE)
def test_when_bounds_judge_the_matched_changes_figures(
    block: str, prop: Proposal, populations: dict[str, int], expected: bool
) -> None:
    """Counts and population shares are measured over the matched changes; every bound holds."""
    assert fired(RULE + "  " + block + "\n", prop, populations=populations) is expected


def test_figures_count_only_the_changes_the_match_selected() -> None:
    """A rule about IAM deletes counts IAM deletes, not every delete in the plan."""
    prop = proposal(
        change("aws_iam_role.a", D),
        change("aws_iam_role.b", D),
        *[change(f"aws_instance.i[{i}]", D) for i in range(5)],
    )
    rule = RULE + "  match: {categories: [iam]}\n  when: {deletes: {at_least: 3}}\n"
    assert fired(rule, prop) is False
    rule = RULE + "  match: {types: ['aws_*']}\n  when: {deletes: {at_least: 7}}\n"
    assert fired(rule, prop) is True


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(8)))
def test_change_order_never_changes_which_rules_fire(order: list[int]) -> None:
    """Rules see the same figures whatever order the plan lists its changes in."""
    base = [
        change("aws_iam_role.a", D),
        change("aws_iam_role.b", U),
        change("aws_instance.i[0]", D),
        change("aws_instance.i[1]", R),
        change("aws_s3_bucket.l", C),
        change("module.pay.aws_s3_bucket.p", D),
        change("aws_route53_record.r", U),
        change("aws_kms_key.k", R),
    ]
    rules = PolicyBundle.load(shipped_config_dir() / "policies").rules
    populations = {"aws_instance": 10, "aws_iam_role": 40}
    first = evaluate_rules(
        rules, proposal(*base), source=A, catalog=CATALOG, populations=populations
    )
    shuffled = proposal(*[base[i] for i in order])
    again = evaluate_rules(rules, shuffled, source=A, catalog=CATALOG, populations=populations)
    assert [(h.rule.id, sorted(h.addresses), h.figures) for h in first] == [
        (h.rule.id, sorted(h.addresses), h.figures) for h in again
    ]


def test_matching_a_large_plan_finds_the_glob_rule() -> None:
    """10,000 changes against the shipped rules and an address glob: the glob rule matches.

    Speed is measured in bench/review_bench.py, not asserted here.
    """
    rng = random.Random(7)  # noqa: S311 - a fixed seed for a reproducible plan
    types = ["aws_instance", "aws_s3_bucket", "aws_iam_role", "aws_route53_record", "aws_kms_key"]
    changes = [
        change(f"module.m{i % 40}.{rng.choice(types)}.r{i}", rng.choice([C, U, D, R]))
        for i in range(10_000)
    ]
    prop = proposal(*changes)
    rules = (
        PolicyBundle.load(shipped_config_dir() / "policies").rules
        + bundle_of(
            "rules:\n" + textwrap.indent(RULE + "  match: {addresses: ['module.m1*']}\n", "  ")
        ).rules
    )
    hits = evaluate_rules(rules, prop, source=A, catalog=CATALOG, populations={})
    assert any(h.rule.id == "t.rule" for h in hits)
