"""`commander review FOLDER`: every input file its own decision, recorded in file-name order.

The CLI runs as a real process on the local executor, against a real store
(SQLite, and PostgreSQL when COMMANDER_TEST_POSTGRES_URL names a server).
The same folder on a Ray cluster is tested in test_ray_executor.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.batch import list_inputs
from orchestrator.errors import UsageError
from orchestrator.testing import plan_document, prior_resource, resource_change
from tests.databases import DIALECTS, fresh_database, run_sql

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "iam-boundary"
FIXTURES = REPO / "tests" / "fixtures"
TOPOLOGY = EXAMPLE / "topology.yaml"
# coding-agent is a registered AI agent; in production these three files
# approve (a no-op), escalate (the shared IAM boundary) and reject (DROP TABLE).
AGENT = ("--actor", "coding-agent", "--source", "ai-agent", "--environment", "prod")
OUTCOMES = {"a-noop.json": "approve", "b-boundary.json": "escalate", "c-drop.sql": "reject"}
EXIT = {"approve": 0, "escalate": 3, "reject": 4}


def noop_plan() -> str:
    """A plan that changes nothing: approved at the low tier."""
    values = {"bucket": "logs"}
    return json.dumps(
        plan_document(
            [resource_change("aws_s3_bucket.logs", ["no-op"], before=values, after=values)],
            prior=[prior_resource("aws_s3_bucket.logs", values)],
        )
    )


def mixed_folder(folder: Path) -> Path:
    """One file per outcome, plus files a folder review must leave alone."""
    folder.mkdir()
    (folder / "a-noop.json").write_text(noop_plan(), encoding="utf-8")
    (folder / "b-boundary.json").write_bytes((EXAMPLE / "plan.json").read_bytes())
    (folder / "c-drop.sql").write_bytes((FIXTURES / "sql" / "destructive.sql").read_bytes())
    (folder / ".hidden.json").write_text("{not even json", encoding="utf-8")
    (folder / "README.md").write_text("plans for review\n", encoding="utf-8")
    (folder / "nested").mkdir()
    (folder / "nested" / "plan.json").write_text("{not even json", encoding="utf-8")
    return folder


def review_folder(run_cli: Any, folder: Path, db: str, *args: str) -> Any:
    """`commander review FOLDER` as the coding agent, against the example topology."""
    return run_cli("review", str(folder), *AGENT, "--topology", str(TOPOLOGY), "--db", db, *args)


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """An empty store on each dialect."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_a_mixed_folder_exits_with_the_worst_outcome_and_records_every_file(
    run_cli: Any, tmp_path: Path, db: str
) -> None:
    """Approve, escalate and reject: exit 4, three decisions in file order, each stored as shown."""
    result = review_folder(run_cli, mixed_folder(tmp_path / "plans"), db, "--output", "json")

    assert result.code == 4, result.stderr
    decisions = json.loads(result.stdout)
    assert [d["outcome"] for d in decisions] == list(OUTCOMES.values())
    assert all(d["schema"] == "commander.decision/v1" for d in decisions)
    for decision in decisions:
        shown = run_cli("show", decision["decision_id"], "--db", db, "--output", "json")
        shown_json = json.loads(shown.stdout)
        # show adds where the decision ended up beside the recorded decision
        assert {k: v for k, v in shown_json.items() if k not in ("final_state", "gate")} == decision
    # each file is its own change, named by what it is, as `commander review FILE` names it
    rows = run_sql(db, "SELECT change_id FROM change_submissions ORDER BY change_id")
    assert len({r.change_id for r in rows}) == len(OUTCOMES)
    assert all(r.change_id.startswith("coding-agent:production:") for r in rows), rows


def test_each_file_is_decided_as_its_own_review_would_decide_it(
    run_cli: Any, tmp_path: Path
) -> None:
    """A file's decision in the folder has the outcome, digest and verdicts of a lone review."""
    folder = mixed_folder(tmp_path / "plans")
    batch = review_folder(run_cli, folder, f"sqlite:///{tmp_path / 'batch.db'}", "--output", "json")
    assert batch.code == 4, batch.stderr

    for name, in_folder in zip(OUTCOMES, json.loads(batch.stdout), strict=True):
        # a store of its own: the lone review sees the same (empty) history as the batch did
        alone = review_folder(
            run_cli, folder / name, f"sqlite:///{tmp_path / f'{name}.db'}", "--output", "json"
        )
        assert alone.code == EXIT[OUTCOMES[name]], alone.stderr
        assert comparable(json.loads(alone.stdout)) == comparable(in_folder)


def test_a_broken_file_fails_alone_and_the_others_are_recorded(
    run_cli: Any, tmp_path: Path
) -> None:
    """Malformed and empty files: exit 1, each named in one stderr line; the rest still recorded."""
    folder = mixed_folder(tmp_path / "plans")
    (folder / "b-boundary.json").write_text('{"format_version": ', encoding="utf-8")
    (folder / "d-empty.yaml").write_bytes(b"")
    db = f"sqlite:///{tmp_path / 'audit.db'}"

    result = review_folder(run_cli, folder, db)

    assert result.code == 1, result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2, result.stderr
    assert errors[0].startswith(f"commander: error: {folder / 'b-boundary.json'}: invalid JSON")
    assert errors[1] == f"commander: error: {folder / 'd-empty.yaml'}: empty input"
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [*OUTCOMES, "d-empty.yaml"]
    assert [line.split()[2] for line in lines[:-1]] == ["approve", "failed", "reject", "failed"]
    assert lines[-1] == "4 files: 1 approve, 0 escalate, 1 reject, 2 failed"
    recorded = run_sql(db, "SELECT outcome FROM decisions ORDER BY outcome")
    assert [r.outcome for r in recorded] == ["approve", "reject"]


def test_a_frozen_actor_s_files_are_rejected_unreviewed(run_cli: Any, tmp_path: Path) -> None:
    """The kill switch stops every file of the folder before any reviewer sees it."""
    db = f"sqlite:///{tmp_path / 'audit.db'}"
    frozen = run_cli("freeze", "coding-agent", "--as", "sre", "--reason", "test", "--db", db)
    assert frozen.code == 0, frozen.stderr

    result = review_folder(run_cli, mixed_folder(tmp_path / "plans"), db, "--output", "json")

    assert result.code == 4, result.stderr
    decisions = json.loads(result.stdout)
    assert [d["outcome"] for d in decisions] == ["reject"] * 3
    assert all(d["verdicts"] == [] for d in decisions)


def test_budgets_count_the_files_recorded_before_each_one(run_cli: Any, tmp_path: Path) -> None:
    """The gate applies at record time: the second file finds the first's use of the budget."""
    from tests.test_replay import candidate_dir

    budget = "    coding-agent:\n      - {metric: changed-resources, limit: 1, window: 1h}"
    config = candidate_dir(tmp_path, **{"  actors: {}": f"  actors:\n{budget}"})
    folder = tmp_path / "plans"
    folder.mkdir()
    for name in ("a", "b"):
        plan = plan_document([resource_change(f"aws_s3_bucket.{name}", ["create"], after={})])
        (folder / f"{name}.json").write_text(json.dumps(plan), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'audit.db'}"

    as_agent = ("--actor", "coding-agent", "--source", "ai-agent", "--environment", "dev")
    result = run_cli(
        "review", str(folder), *as_agent, "--config", str(config), "--db", db, "--output", "json"
    )

    assert result.code == 4, result.stderr
    first, second = json.loads(result.stdout)
    assert (first["outcome"], second["outcome"]) == ("approve", "reject")
    assert any("budget" in line for line in second["rationale"]), second["rationale"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--output", "markdown"), "--output markdown shows one decision"),
        (("--change-id", "infra#42"), "--change-id names one change"),
    ],
)
def test_options_that_name_one_decision_are_usage_errors_for_a_folder(
    run_cli: Any, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Markdown and --change-id describe one decision: exit 2, nothing reviewed."""
    db_file = tmp_path / "audit.db"
    result = review_folder(run_cli, mixed_folder(tmp_path / "plans"), f"sqlite:///{db_file}", *args)
    assert result.code == 2
    assert result.stderr.startswith(f"commander: error: {message}")
    assert not db_file.exists()


@pytest.mark.parametrize("contents", ["nothing", "no inputs"])
def test_a_folder_without_input_files_is_a_usage_error(
    run_cli: Any, tmp_path: Path, contents: str
) -> None:
    """An empty folder, or one with only hidden, other and nested files, is exit 2."""
    folder = tmp_path / "plans"
    if contents == "nothing":
        folder.mkdir()
    else:
        mixed_folder(folder)
        for name in OUTCOMES:
            (folder / name).unlink()
    result = review_folder(run_cli, folder, f"sqlite:///{tmp_path / 'audit.db'}")
    assert result.code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"commander: error: {folder}: no input files in this folder")


def test_list_inputs_takes_the_four_kinds_in_file_name_order(tmp_path: Path) -> None:
    """Suffixes in any case, sorted by name; hidden, nested, other and the topology left out."""
    for name in ("b.YAML", "a.patch", "c.sql", "d.diff", "e.yml", "topology.yaml", "notes.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / ".git.json").write_text("x", encoding="utf-8")
    (tmp_path / "dir.json").mkdir()

    found = list_inputs(tmp_path, besides=[tmp_path / "topology.yaml"])

    assert [p.name for p in found] == ["a.patch", "b.YAML", "c.sql", "d.diff", "e.yml"]
    with pytest.raises(UsageError, match="no input files"):
        list_inputs(tmp_path / "dir.json")


def comparable(decision: dict[str, Any]) -> dict[str, Any]:
    """A decision without what differs between two runs: its id, time and timings."""
    verdicts = [{k: v for k, v in x.items() if k != "duration_ms"} for x in decision["verdicts"]]
    kept = {k: v for k, v in decision.items() if k not in {"decision_id", "created_at"}}
    return {**kept, "verdicts": verdicts}
