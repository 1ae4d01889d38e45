"""The default change id says what the change is: unrelated changes never supersede each other.

A change id groups submissions; a later plan for the same change cancels the
open escalation of an earlier one. Without `--change-id` the id comes from
the change itself (gate/identity.py), never from a bare file name or
`<stdin>`; when a submission supersedes another, it says so on stderr and in
its decision.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from orchestrator.gate import InputPlace, change_id_for, locate_input
from tests.gate_support import REPO, make_proposal

PLAN = REPO / "examples" / "iam-boundary" / "plan.json"
MIGRATION = "ALTER TABLE users ADD COLUMN note text;\n"


def _plan(**edits: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(PLAN.read_text(encoding="utf-8"))
    for key, value in edits.items():
        doc[key] = value
    return doc


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _review(run_cli: Any, *args: str, stdin: str | None = None) -> tuple[dict[str, Any], str]:
    done = run_cli(
        "review",
        *args,
        "--actor",
        "alice",
        "--environment",
        "production",
        "--output",
        "json",
        stdin=stdin,
    )
    assert done.code == 3, done.stderr
    return json.loads(done.stdout), done.stderr


def _pending(run_cli: Any) -> set[str]:
    listed = run_cli("pending", "--output", "json")
    assert listed.code == 0, listed.stderr
    return {p["decision_id"] for p in json.loads(listed.stdout)}


def test_a_plan_and_a_migration_on_stdin_are_two_changes(run_cli: Any) -> None:
    """Piping a plan and then a SQL migration leaves both escalations open, nothing superseded."""
    plan, _ = _review(run_cli, "-", stdin=PLAN.read_text(encoding="utf-8"))
    migration, noted = _review(run_cli, "-", "--kind", "sql", stdin=MIGRATION)

    assert _pending(run_cli) == {plan["decision_id"], migration["decision_id"]}
    assert "supersedes" not in migration
    assert "supersedes" not in noted


def test_two_plans_of_the_same_file_name_from_other_configurations_are_two_changes(
    run_cli: Any, tmp_path: Path
) -> None:
    """d1/plan.json and d2/plan.json of different root modules are different changes."""
    other = _plan()
    other["configuration"]["provider_config"]["aws"]["expressions"]["region"] = {
        "constant_value": "us-east-1"
    }
    first, _ = _review(run_cli, str(_write(tmp_path / "d1" / "plan.json", _plan())))
    second, noted = _review(run_cli, str(_write(tmp_path / "d2" / "plan.json", other)))

    assert _pending(run_cli) == {first["decision_id"], second["decision_id"]}
    assert "supersedes" not in noted


def test_a_re_planned_configuration_supersedes_and_says_so(run_cli: Any, tmp_path: Path) -> None:
    """The same configuration planned again with other values supersedes, on stderr and in JSON."""
    changed = _plan()
    changed["resource_changes"][0]["change"]["after"]["description"] = "planned again"
    first, _ = _review(run_cli, str(_write(tmp_path / "run-1" / "plan.json", _plan())))
    second, noted = _review(run_cli, str(_write(tmp_path / "run-2" / "plan.json", changed)))

    assert _pending(run_cli) == {second["decision_id"]}
    [supersession] = second["supersedes"]
    assert supersession["decision_id"] == first["decision_id"]
    change = supersession["change_id"]
    assert change.startswith("alice:production:terraform:config-")
    assert f"supersedes decision {first['decision_id']} for change {change!r}" in noted
    shown = run_cli("show", second["decision_id"])
    assert f"supersedes decision {first['decision_id']}" in shown.stdout


def test_an_explicit_change_id_still_groups_anything(run_cli: Any) -> None:
    """--change-id names the change whatever it is: the second submission supersedes the first."""
    first, _ = _review(run_cli, "-", "--change-id", "acme#7", stdin=PLAN.read_text("utf-8"))
    second, noted = _review(run_cli, "-", "--kind", "sql", "--change-id", "acme#7", stdin=MIGRATION)

    assert second["supersedes"] == [{"decision_id": first["decision_id"], "change_id": "acme#7"}]
    assert "for change 'acme#7'" in noted


def test_default_ids_name_the_kind_and_what_it_is() -> None:
    """Each kind's default id: configuration, objects, repository and paths, migration path."""
    plan = make_proposal(input_name="<stdin>")
    assert change_id_for(plan, None).startswith("refactor-bot:production:terraform:config-")
    assert change_id_for(plan, " PR-7 ") == "PR-7"
    # the same changes read from another path or name are the same change
    assert change_id_for(make_proposal(input_name="/ci/2/plan.json"), None) == change_id_for(
        plan, None
    )
    sql = make_proposal().model_copy(update={"kind": "sql"})
    place = InputPlace(repository="acme", path="db/migrations/0003.sql")
    assert (
        change_id_for(sql, None, place) == "refactor-bot:production:sql:acme:db/migrations/0003.sql"
    )
    other = make_proposal(tag="v2").model_copy(update={"kind": "sql"})
    # from standard input a migration is its content: two different ones never collide
    assert change_id_for(sql, None).startswith("refactor-bot:production:sql:content-")
    assert change_id_for(sql, None) != change_id_for(other, None)
    diff = make_proposal().model_copy(update={"kind": "diff"})
    assert change_id_for(diff, None, InputPlace(repository="acme")).startswith(
        "refactor-bot:production:diff:acme:paths-"
    )
    assert change_id_for(make_proposal(creates=2), None) != change_id_for(plan, None)


def test_a_migration_is_named_by_its_path_in_the_repository(tmp_path: Path) -> None:
    """Two checkouts of one repository name the same migration alike; outside git, its full path."""
    for checkout in ("run-1", "run-2"):
        repo = tmp_path / checkout / "acme"
        (repo / "db").mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        place = locate_input("db/0003.sql", cwd=repo)
        assert place == InputPlace(repository="acme", path="db/0003.sql")
    outside = tmp_path / "loose"
    outside.mkdir()
    assert locate_input("x.sql", cwd=outside) == InputPlace(path=(outside / "x.sql").as_posix())
