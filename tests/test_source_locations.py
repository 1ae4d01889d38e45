"""Findings on the source line: Terraform blocks, objects, statements and diff lines in SARIF.

`tests/data/terraform-module` is a small root module with a local child
module instantiated with for_each, and the plan `terraform show -json` prints
for it (written by hand in that exact shape: no terraform binary here).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from orchestrator.adapters.terraform_source import TerraformSources, config_address
from orchestrator.errors import InputError
from orchestrator.models import (
    Action,
    Decision,
    Environment,
    Finding,
    Proposal,
    ResourceChange,
    RiskTier,
    Source,
    SourceLocation,
    Verdict,
)
from orchestrator.render.locations import Sources
from orchestrator.render.sarif import render_sarif
from tests.conftest import REPO, _commander_command

MODULE = REPO / "tests" / "data" / "terraform-module"
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
_BLOCK = re.compile(r'^(resource|data|module) "([^"]+)"(?: "([^"]+)")? \{', re.MULTILINE)


def review_sarif(tmp_path: Path, *args: str, cwd: Path = MODULE) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [
            *_commander_command(),
            "review",
            str(MODULE / "plan.json"),
            "--source",
            "ai-agent",
            "--actor",
            "bot",
            "--environment",
            "production",
            "--db",
            f"sqlite:///{tmp_path / 'audit.db'}",
            "--output",
            "sarif",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout) if proc.stdout else {}, proc.stderr


def _module_blocks() -> dict[str, tuple[str, int]]:
    blocks: dict[str, tuple[str, int]] = {}
    for prefix, folder in (("", MODULE), ("module.buckets.", MODULE / "modules" / "bucket")):
        for path in sorted(folder.glob("*.tf")):
            text = path.read_text(encoding="utf-8")
            for match in _BLOCK.finditer(text):
                kind, first, second = match.groups()
                key = {"resource": f"{first}.{second}", "data": f"data.{first}.{second}"}.get(
                    kind, f"module.{first}"
                )
                line = text.count("\n", 0, match.start()) + 1
                blocks[prefix + key] = (path.relative_to(MODULE).as_posix(), line)
    return blocks


def _where(location: dict[str, Any]) -> tuple[str, int]:
    physical = location["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["region"]["startLine"]


def test_every_plan_result_sits_on_its_resource_block(tmp_path: Path) -> None:
    """Run in the module's folder, each result is on the .tf line of its first resource's block.

    Related locations list the other resources' blocks; for_each instances of
    one module block share their block's line; logical locations keep the
    plan's addresses.
    """
    code, log, _ = review_sarif(tmp_path)
    assert code == 4  # an AI agent replacing a production database: rejected
    assert Draft4Validator(SCHEMA).is_valid(log)
    blocks = _module_blocks()
    results = log["runs"][0]["results"]
    assert len(results) >= 8
    for result in results:
        addresses = [
            loc["fullyQualifiedName"] for loc in result["locations"][0]["logicalLocations"]
        ]
        expected = list(dict.fromkeys(blocks[config_address(a)] for a in addresses))
        found = [_where(result["locations"][0])]
        found += [_where(r) for r in result.get("relatedLocations", [])]
        assert found == expected, result["ruleId"]
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "SRCROOT"
    rules = {r["ruleId"]: r for r in results}
    weakened = rules["reversibility.protection-weakened"]["locations"][0]
    assert _where(weakened) == ("modules/bucket/main.tf", 9)
    assert weakened["physicalLocation"]["region"]["endLine"] == 15
    assert _where(rules["scope.category.iam"]["locations"][0]) == ("main.tf", 24)


def test_source_dir_and_root_give_repository_paths(tmp_path: Path) -> None:
    """From the repository root with --source-dir, paths are relative to --source-root."""
    code, log, _ = review_sarif(
        tmp_path, "--source-dir", str(MODULE), "--source-root", str(REPO), cwd=tmp_path
    )
    assert code == 4
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == REPO.resolve().as_uri() + "/"
    uris = {_where(r["locations"][0])[0] for r in run["results"]}
    assert uris == {
        "tests/data/terraform-module/main.tf",
        "tests/data/terraform-module/modules/bucket/main.tf",
    }


def _audit_rows(tmp_path: Path) -> int:
    db = tmp_path / "audit.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        return (
            conn.execute("select count(*) from decisions").fetchone()[0]
            if ("decisions" in tables)
            else 0
        )


def test_a_broken_source_dir_fails_before_anything_is_recorded(tmp_path: Path) -> None:
    """A named --source-dir that does not parse: exit 1 naming the file and line, no decision."""
    broken = tmp_path / "tf"
    shutil.copytree(MODULE, broken)
    (broken / "main.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n}\n')
    code, log, err = review_sarif(tmp_path, "--source-dir", str(broken), cwd=tmp_path)
    assert code == 1
    assert log == {}
    assert re.search(r"main\.tf: line 2: not valid HCL", err), err
    assert _audit_rows(tmp_path) == 0


def test_a_broken_file_in_the_working_directory_only_warns(tmp_path: Path) -> None:
    """Unasked, the working directory's .tf files are best effort: results fall back to the plan."""
    folder = tmp_path / "tf"
    folder.mkdir()
    (folder / "main.tf").write_text("resource {\n")
    code, log, err = review_sarif(tmp_path, cwd=folder)
    assert code == 4
    assert "warning" in err
    assert "results point at the plan file" in err
    uris = {_where(r["locations"][0])[0] for r in log["runs"][0]["results"]}
    assert len(uris) == 1
    assert next(iter(uris)).endswith("plan.json")


@pytest.mark.parametrize(
    ("address", "where"),
    [
        ("aws_iam_role.deployer", ("main.tf", 24, 28)),
        ("data.aws_iam_policy_document.assume", ("main.tf", 14, 22)),
        ('module.buckets["logs"].aws_s3_bucket.this', ("modules/bucket/main.tf", 5, 7)),
        (
            'module.buckets["a.b[0]"].aws_s3_bucket_versioning.this',
            ("modules/bucket/main.tf", 9, 15),
        ),
        # not written in the child module: the nearest module call holds it
        ('module.buckets["x"].aws_kms_key.k[0]', ("main.tf", 40, 45)),
        ("aws_kms_key.unknown", None),
    ],
)
def test_terraform_addresses_map_to_blocks(
    address: str, where: tuple[str, int, int] | None
) -> None:
    """Addresses, with instance keys and through local modules, map to their block's lines."""
    found = TerraformSources.scan(MODULE, MODULE).locate(address)
    if where is None:
        assert found is None
    else:
        assert found == SourceLocation(path=where[0], line=where[1], end_line=where[2])


def test_remote_module_resources_point_at_the_call(tmp_path: Path) -> None:
    """A registry module's resources are not in the repository: they sit on its module block."""
    (tmp_path / "main.tf").write_text(
        'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'
        'module "local" {\n  source = "./sub"\n}\n'
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.tf").write_text('module "deep" {\n  source = "git::https://x"\n}\n')
    scanned = TerraformSources.scan(tmp_path, tmp_path)
    assert scanned.locate("module.vpc.aws_vpc.this[0]") == SourceLocation(
        path="main.tf", line=1, end_line=3
    )
    assert scanned.locate('module.local.module.deep["k"].aws_x.y') == SourceLocation(
        path="sub/x.tf", line=1, end_line=3
    )


def test_a_module_that_sources_itself_is_refused(tmp_path: Path) -> None:
    """A local source cycle ends with an error naming the folder, not a hang."""
    (tmp_path / "main.tf").write_text('module "me" {\n  source = "./"\n}\n')
    with pytest.raises(InputError, match="modules nest deeper"):
        TerraformSources.scan(tmp_path, tmp_path)


@given(st.text(alphabet='ab."[]0\\*', max_size=30))
def test_config_address_is_idempotent(address: str) -> None:
    """Stripping instance keys twice is stripping them once."""
    once = config_address(address)
    assert config_address(once) == once


# --- locations the adapters give -----------------------------------------------


def escalated(findings: tuple[Finding, ...]) -> Decision:
    """An escalation whose one (scope) verdict carries `findings`."""
    verdict = Verdict(
        reviewer="scope",
        stance="concern",
        risk_tier=RiskTier.HIGH,
        confidence=1.0,
        findings=findings,
    )
    return Decision(
        decision_id="d",
        proposal_digest="sha256:" + "0" * 64,
        outcome="escalate",
        risk_tier=RiskTier.HIGH,
        dissent=0.0,
        verdicts=(verdict,),
        rationale=("r",),
        policy_version="p",
        created_at="t",
    )


def proposal_of(kind: str, input_name: str, changes: tuple[ResourceChange, ...] = ()) -> Proposal:
    """A human's production proposal of `kind` read from `input_name`."""
    return Proposal(
        kind=kind,  # type: ignore[arg-type]
        source=Source.HUMAN,
        actor="a",
        environment=Environment.PRODUCTION,
        environment_name="production",
        changes=changes,
        input_name=input_name,
    )


@pytest.mark.parametrize(
    ("kind", "finding", "change_location", "expected"),
    [
        # a Kubernetes field the reviewer located: the manifest's own path, its line
        (
            "kubernetes",
            Finding(
                rule="r", message="m", resources=("ns/Pod/p",), locations=(SourceLocation(line=12),)
            ),
            None,
            ("deploy/app.yaml", 12),
        ),
        # no finding location: the object's own line from the adapter
        (
            "kubernetes",
            Finding(rule="r", message="m", resources=("ns/Pod/p",)),
            SourceLocation(line=3, end_line=20),
            ("deploy/app.yaml", 3),
        ),
        # a SQL statement
        (
            "sql",
            Finding(rule="r", message="m", resources=("orders",)),
            SourceLocation(line=7),
            ("deploy/app.yaml", 7),
        ),
        # a diff's hunk line names its own file, relative to the repository
        (
            "diff",
            Finding(
                rule="r",
                message="m",
                resources=("src/a.py",),
                locations=(SourceLocation(path="src/a.py", line=41),),
            ),
            None,
            ("src/a.py", 41),
        ),
        # nothing known: the input file, line 1
        ("kubernetes", Finding(rule="r", message="m"), None, ("deploy/app.yaml", 1)),
    ],
)
def test_adapter_locations_become_repository_paths(
    kind: str,
    finding: Finding,
    change_location: SourceLocation | None,
    expected: tuple[str, int],
    tmp_path: Path,
) -> None:
    """A location without a path is in the input, made relative to the repository root."""
    address = finding.resources[0] if finding.resources else "x"
    change = ResourceChange(
        address=address, type="Pod", action=Action.UPDATE, location=change_location
    )
    proposal = proposal_of(kind, str(tmp_path / "deploy" / "app.yaml"), (change,))
    log = json.loads(render_sarif(escalated((finding,)), proposal, sources=Sources(root=tmp_path)))
    assert _where(log["runs"][0]["results"][0]["locations"][0]) == expected


def test_the_service_path_names_the_input_in_the_repository() -> None:
    """CI tells the service where the input lives (?path=): results use it, not the temp name."""
    finding = Finding(
        rule="r", message="m", resources=("ns/Pod/p",), locations=(SourceLocation(line=5),)
    )
    change = ResourceChange(address="ns/Pod/p", type="Pod", action=Action.UPDATE)
    proposal = proposal_of("kubernetes", "request-body", (change,))
    sources = Sources(input_path="k8s/app.yaml")
    log = json.loads(render_sarif(escalated((finding,)), proposal, sources=sources))
    assert _where(log["runs"][0]["results"][0]["locations"][0]) == ("k8s/app.yaml", 5)
