"""A table of real command lines, as agents and runbooks write them: allow, ask or deny, and why.

The lines are modelled on public incident write-ups (an agent that "deleted
and recreated the environment", a cleanup whose empty filter selected every
prefix, `kubectl delete ns`, `terraform destroy -auto-approve`, forced pushes
to main), agent transcripts and runbooks. Each is judged as an AI agent's
Bash call in production, through the whole path: parse, catalog, proposal,
every reviewer, the gate and the store. The findings listed must all appear
in the answer's reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.commands_calls import ToolCall
from orchestrator.commands.guard import GuardOptions, decide

TABLE = [
    ("git status", "allow", []),
    ("git log --oneline -20", "allow", []),
    ("git diff HEAD~1", "allow", []),
    ("terraform plan", "allow", []),
    ("terraform plan -out=tfplan", "allow", []),
    ("terraform show", "allow", []),
    ("terraform state list", "allow", []),
    ("terraform validate", "allow", []),
    ("kubectl get pods -A", "allow", []),
    ("kubectl describe deploy web -n prod", "allow", []),
    ("kubectl logs -f deploy/web -n prod", "allow", []),
    ("kubectl rollout status deploy/web -n prod", "allow", []),
    ("helm list -A", "allow", []),
    ("aws s3 ls s3://logs", "allow", []),
    ("aws ec2 describe-instances --filters Name=tag:env,Values=prod", "allow", []),
    ("gcloud compute instances list", "allow", []),
    ("az vm list -o table", "allow", []),
    ('psql -c "SELECT count(*) FROM users" prod', "allow", []),
    ("ls -la && cat README.md | grep -i deploy", "allow", []),
    ("docker ps -a", "allow", []),
    ("npm test", "allow", []),
    ("pytest -q tests/", "allow", []),
    ("rm -rf node_modules dist build", "allow", []),
    ("mkdir -p out && cp src/a.py out/", "allow", []),
    ('git commit -am "fix"', "allow", []),
    ("git push origin feature/login", "allow", []),
    ("git push --force origin feature/login", "allow", []),
    (
        "terraform destroy -auto-approve",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "terraform destroy -target=aws_db_instance.main -auto-approve",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ("terraform destroy -target=module.network", "ask", ["reversibility.costly"]),
    ("terraform apply -auto-approve", "ask", ["command.unreviewed-apply"]),
    ("terraform state rm aws_s3_bucket.logs", "ask", []),
    ("terraform state mv aws_instance.a aws_instance.b", "ask", []),
    ("terraform import aws_s3_bucket.logs my-logs", "ask", []),
    (
        "terraform workspace delete prod",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "terraform destroy -auto-approve && terraform apply -auto-approve",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "tofu destroy -auto-approve",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "kubectl delete ns prod",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "kubectl delete namespace production --grace-period=0 --force",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "kubectl delete pods --all -n prod",
        "ask",
        ["command.selects-everything", "reversibility.costly"],
    ),
    ("kubectl delete pods -l app=web -n prod", "ask", ["command.selector", "reversibility.costly"]),
    (
        "kubectl delete deploy,svc -l '' -n prod",
        "ask",
        ["command.selects-everything", "reversibility.costly"],
    ),
    (
        "kubectl delete pvc data-postgres-0 -n prod",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "kubectl delete secret db-creds -n prod",
        "deny",
        [
            "reversibility.irreversible",
            "scope.ai-agent.data-deletion-production",
            "scope.ai-agent.iam-production",
        ],
    ),
    ("kubectl scale deploy/web --replicas=0 -n prod", "ask", []),
    ("kubectl drain node-7 --ignore-daemonsets --delete-emptydir-data", "ask", []),
    ("kubectl cordon node-7", "ask", []),
    ('kubectl patch deploy web -n prod -p \'{"spec":{"replicas":1}}\'', "ask", []),
    ("kubectl rollout restart deploy/web -n prod", "ask", []),
    (
        "kubectl delete crd certificates.cert-manager.io",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ("kubectl delete pods --all -A", "ask", ["command.selects-everything", "reversibility.costly"]),
    ("helm uninstall payments -n prod", "ask", ["reversibility.costly"]),
    ("helm upgrade web ./chart -n prod", "ask", []),
    ("helm rollback web 3 -n prod", "ask", []),
    (
        "aws s3 rm s3://bucket --recursive",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "aws s3 rb s3://customer-uploads --force",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "aws ec2 terminate-instances --instance-ids i-0abc123 i-0def456",
        "ask",
        ["reversibility.costly"],
    ),
    (
        "aws rds delete-db-instance --db-instance-identifier prod-db --skip-final-snapshot",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "aws iam attach-role-policy --role-name ci"
        " --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        "ask",
        ["scope.ai-agent.iam-production"],
    ),
    (
        "aws iam put-role-policy --role-name app --policy-name all --policy-document file://p.json",
        "ask",
        ["scope.ai-agent.iam-production"],
    ),
    (
        "aws dynamodb delete-table --table-name orders",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "aws kms schedule-key-deletion --key-id 1234abcd --pending-window-in-days 7",
        "deny",
        [
            "reversibility.costly",
            "scope.ai-agent.data-deletion-production",
            "scope.ai-agent.iam-production",
        ],
    ),
    ("aws cloudformation delete-stack --stack-name prod-network", "ask", ["reversibility.costly"]),
    (
        "aws ec2 describe-snapshots --owner-ids self --filters Name=tag:pending_delete,Values="
        ' --query "Snapshots[].SnapshotId" --output text'
        " | xargs -n1 aws ec2 delete-snapshot --snapshot-id",
        "deny",
        [
            "command.empty-filter",
            "reversibility.irreversible",
            "scope.ai-agent.data-deletion-production",
        ],
    ),
    (
        'for id in $(aws ec2 describe-instances --filters "Name=tag:cleanup,Values="'
        ' --query "Reservations[].Instances[].InstanceId" --output text);'
        " do aws ec2 terminate-instances --instance-ids $id; done",
        "ask",
        ["command.computed-targets", "command.empty-filter", "reversibility.costly"],
    ),
    (
        "gcloud compute instances delete web-1 --zone us-central1-a --quiet",
        "ask",
        ["reversibility.costly"],
    ),
    (
        "gcloud projects add-iam-policy-binding prod-proj --member=user:bot@x.com"
        " --role=roles/owner",
        "ask",
        ["scope.ai-agent.iam-production"],
    ),
    (
        "gcloud sql instances delete prod-sql",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "gcloud storage rm -r gs://backups",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "az group delete --name prod-rg --yes --no-wait",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "az role assignment create --assignee bot --role Owner",
        "ask",
        ["command.computed-targets", "scope.ai-agent.iam-production"],
    ),
    (
        'psql -c "DROP TABLE users" prod',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        'psql "$DATABASE_URL" -c "DELETE FROM orders"',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        'mysql -e "TRUNCATE TABLE sessions" app',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        'sqlite3 app.db "DELETE FROM events"',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "git push --force origin main",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "git push -f origin HEAD:master",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "git reset --hard origin/main",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "git clean -fdx",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ("git branch -D experiment", "ask", ["reversibility.costly"]),
    (
        "git filter-branch --force --index-filter"
        ' "git rm --cached --ignore-unmatch secrets.env" HEAD',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ("rm -rf /", "deny", ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"]),
    ("rm -rf ~", "deny", ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"]),
    (
        "sudo rm -rf /var/lib/postgresql",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "docker system prune -af --volumes",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    (
        "docker volume rm pgdata",
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ("sudo systemctl stop postgresql", "ask", []),
    ('echo "127.0.0.1 api" | sudo tee -a /etc/hosts', "ask", []),
    ("curl -X DELETE https://api.example.com/v1/zones/123", "ask", ["reversibility.costly"]),
    ("frobnicate --everything", "ask", ["command.unknown"]),
    (
        'bash -c "kubectl delete ns staging"',
        "deny",
        ["reversibility.irreversible", "scope.ai-agent.data-deletion-production"],
    ),
    ('ssh prod-db "sudo systemctl stop postgresql"', "ask", []),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GuardOptions]:
    """A working tree and a private store shared by the table's rows."""
    root = tmp_path_factory.mktemp("guard")
    (root / "repo" / ".git").mkdir(parents=True)
    return root / "repo", GuardOptions(db=f"sqlite:///{root / 'store.db'}", actor="agent-x")


@pytest.mark.parametrize(("command", "expected", "findings"), TABLE, ids=[r[0][:60] for r in TABLE])
def test_command_line(
    command: str,
    expected: str,
    findings: list[str],
    place: tuple[Path, GuardOptions],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The guard answers each line as a careful SRE would, naming the findings."""
    repo, options = place
    monkeypatch.setenv("COMMANDER_CACHE_DIR", str(repo.parent / "cache"))
    call = ToolCall(
        format="generic", tool="shell", cwd=str(repo), command=command, environment="production"
    )
    answer = decide(call, options)
    assert answer.decision == expected, answer.reason
    for finding in findings:
        assert finding in answer.reason
    if expected == "allow":
        assert answer.decision_id is None  # read-only and local calls are not recorded
    else:
        assert answer.decision_id is not None


def test_table_covers_the_issue() -> None:
    """At least 80 lines, with the cases the issue names."""
    commands = {row[0]: row[1] for row in TABLE}
    assert len(TABLE) >= 80
    assert commands["terraform destroy -auto-approve"] == "deny"
    assert commands["kubectl delete ns prod"] == "deny"
    assert commands["aws s3 rm s3://bucket --recursive"] == "deny"
    assert commands["git push --force origin main"] == "deny"
    assert commands["terraform destroy -auto-approve && terraform apply -auto-approve"] == "deny"
    assert {
        commands["git status"],
        commands["terraform plan"],
        commands["kubectl get pods -A"],
    } == {"allow"}
