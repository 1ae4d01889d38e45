"""The Ray executor on a real two-node local Ray cluster: same verdicts, same fail-closed rules.

One cluster (`ray.cluster_utils.Cluster`, two nodes of two logical CPUs)
serves the whole module. The Ray tests skip, with the reason, only when Ray
is not installed; the test that the default path never imports Ray always runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.commander import aggregate
from orchestrator.config import LoadedConfig, load_config
from orchestrator.errors import ReviewRunError
from orchestrator.executors import make_executor
from orchestrator.executors.base import ReviewCall
from orchestrator.executors.local import LocalExecutor
from orchestrator.fanout import fan_out
from orchestrator.graph import DependencyGraph
from orchestrator.models import Proposal, RiskTier, Source, Verdict
from orchestrator.registry import LoadedReviewer, validate_reviewer
from orchestrator.review import build_context
from orchestrator.reviewer import ReviewContext, Reviewer
from orchestrator.testing import CrashingReviewer, SlowReviewer, plan_document, resource_change
from tests.cli_imports import modules_after, roots

try:
    import ray
except ImportError:  # the extra is not installed: only the Ray tests skip
    ray = None

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "iam-boundary"
MB = 1024 * 1024
EXIT = {"approve": 0, "escalate": 3, "reject": 4}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real local Ray cluster with two nodes, this process connected as its driver."""
    if ray is None:
        pytest.skip("Ray is not installed: pip install 'commander[ray]'")
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 2, "object_store_memory": 80 * MB}
    started = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    try:
        started.add_node(**node)
        started.wait_for_nodes()
        ray.init(address=started.address, logging_level=logging.WARNING, log_to_driver=False)
        # warm a worker on each node, so the first timed review does not pay for its start
        ray.get([ray.remote(_node_of).remote(0.2) for _ in range(4)])
        yield started
    finally:
        ray.shutdown()
        started.shutdown()


class PidReviewer:
    """Writes its worker's pid to a file, then exits the process, hangs or approves."""

    stage = 1

    def __init__(self, name: str, pid_file: Path, then: str) -> None:
        self.name = name
        self._pid_file = pid_file
        self._then = then

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Record the pid, then do what the test asked for."""
        self._pid_file.write_text(str(os.getpid()), encoding="utf-8")
        if self._then == "exit":
            os._exit(1)  # the worker dies mid-review, as on a segfault or the OOM killer
        if self._then == "hang":
            await asyncio.sleep(120)
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


def _setup(
    plan: Path | dict[str, Any],
    *,
    topology: Path | None = None,
    environment: str = "production",
    actor: str = "refactor-bot",
) -> tuple[Proposal, list[LoadedReviewer], ReviewContext, LoadedConfig]:
    """The shipped config, its reviewers and context, and a proposal from a real plan."""
    config = load_config(None)
    data = plan.read_bytes() if isinstance(plan, Path) else json.dumps(plan).encode()
    proposal = load_proposal(
        data,
        str(plan) if isinstance(plan, Path) else "plan.json",
        Submission(source=Source.AI_AGENT, actor=actor, environment=environment),
    )
    reviewers, context = build_context(config, DependencyGraph.load(topology))
    return proposal, reviewers, context, config


def _comparable(verdicts: tuple[Verdict, ...] | list[Verdict]) -> list[dict[str, Any]]:
    return [v.model_dump(mode="json", exclude={"duration_ms"}) for v in verdicts]


def _small_dev_plan() -> dict[str, Any]:
    """One new bucket: in development, by an agent that exists for it, all reviewers approve."""
    return plan_document(
        [resource_change("aws_s3_bucket.scratch", ["create"], after={"bucket": "scratch"})]
    )


def _with(reviewers: list[LoadedReviewer], extra: Reviewer) -> list[LoadedReviewer]:
    return [*reviewers, validate_reviewer(extra, label=f"{extra.name}[test]")]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("plan", "topology"),
    [
        pytest.param(EXAMPLE / "plan.json", EXAMPLE / "topology.yaml", id="iam-boundary"),
        pytest.param(_small_dev_plan(), None, id="small-create"),
    ],
)
def test_ray_gives_the_same_verdicts_as_local(
    cluster: Any, plan: Path | dict[str, Any], topology: Path | None
) -> None:
    """The real reviewers on Ray return exactly the verdicts they return in-process."""
    proposal, reviewers, context, config = _setup(plan, topology=topology)
    timeout = config.commander.timeout_for
    local = _run(fan_out(proposal, reviewers, context, LocalExecutor(), timeout))
    remote = _run(fan_out(proposal, reviewers, context, make_executor("ray"), timeout))
    assert _comparable(remote) == _comparable(local)
    assert all(v.error is None for v in remote)


def test_context_and_proposal_go_to_the_object_store_once(
    cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both stages and two reviews share one copy of the graph, catalog, policies and proposal."""
    proposal, reviewers, context, config = _setup(
        EXAMPLE / "plan.json", topology=EXAMPLE / "topology.yaml"
    )
    put: list[str] = []
    real_put = ray.put
    monkeypatch.setattr(
        ray, "put", lambda value: put.append(type(value).__name__) or real_put(value)
    )
    executor = make_executor("ray")
    for _ in range(2):
        verdicts = _run(
            fan_out(proposal, reviewers, context, executor, config.commander.timeout_for)
        )
        assert all(v.error is None for v in verdicts)
    assert len(reviewers) >= 4
    assert any(r.stage == 2 for r in reviewers)
    for name in ("DependencyGraph", "ResourceCatalog", "PolicyBundle", "AgentRegistry", "Proposal"):
        assert put.count(name) == 1, put


def test_a_raising_reviewer_becomes_an_error_verdict(cluster: Any) -> None:
    """A reviewer's own exception on a Ray worker is its error verdict, as in-process."""
    proposal, reviewers, context, config = _setup(_small_dev_plan())
    verdicts = _run(
        fan_out(
            proposal,
            _with(reviewers, CrashingReviewer("crashing")),
            context,
            make_executor("ray"),
            config.commander.timeout_for,
        )
    )
    crashed = next(v for v in verdicts if v.reviewer == "crashing")
    assert crashed.error == "RuntimeError: boom"
    assert crashed.stance != "approve"
    assert all(v.error is None for v in verdicts if v.reviewer != "crashing")


def test_a_slow_reviewer_times_out_and_its_worker_is_killed(cluster: Any, tmp_path: Path) -> None:
    """Past its timeout a task fails as 'timed out' and is force-cancelled, worker and all."""
    pid_file = tmp_path / "pid"
    proposal, _, context, _ = _setup(_small_dev_plan())

    def call(reviewer: Reviewer, timeout: float) -> ReviewCall:
        return ReviewCall(
            name=reviewer.name,
            reviewer=reviewer,
            proposal=proposal,
            context=context,
            timeout=timeout,
        )

    started = time.monotonic()
    hanging, quick = PidReviewer("hanging", pid_file, "hang"), SlowReviewer("quick", 0.1)
    verdicts = _run(make_executor("ray").run([call(hanging, 3.0), call(quick, 20.0)]))
    assert time.monotonic() - started < 20
    assert verdicts[0].error == "timed out after 3 s"
    assert verdicts[0].stance != "approve"
    assert (verdicts[1].stance, verdicts[1].error) == ("approve", None)
    assert pid_file.exists(), "the hanging task never started: the cluster is too slow for 3 s"
    pid = int(pid_file.read_text(encoding="utf-8"))
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the timed-out task's worker is still running"


@pytest.mark.parametrize("death", ["exits", "killed"])
def test_a_worker_dying_mid_review_escalates_not_approves(
    cluster: Any, tmp_path: Path, death: str
) -> None:
    """A worker that exits or is SIGKILLed mid-review fails its reviewer: the decision escalates."""
    proposal, reviewers, context, config = _setup(
        _small_dev_plan(), environment="development", actor="coding-agent"
    )
    pid_file = tmp_path / "pid"
    victim = PidReviewer("victim", pid_file, "exit" if death == "exits" else "hang")

    async def review_and_kill() -> tuple[Verdict, ...]:
        running = asyncio.ensure_future(
            fan_out(
                proposal, _with(reviewers, victim), context, make_executor("ray"), lambda _: 60.0
            )
        )
        if death == "killed":
            # another process writes the file: there is no event to wait on
            while not pid_file.exists() or not pid_file.read_text(encoding="utf-8"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            os.kill(int(pid_file.read_text(encoding="utf-8")), signal.SIGKILL)
        return await running

    started = time.monotonic()
    verdicts = _run(review_and_kill())
    assert time.monotonic() - started < 30, "a dead worker must fail at once, not at the timeout"
    failed = next(v for v in verdicts if v.reviewer == "victim")
    assert failed.error is not None
    assert failed.error.startswith("Ray task failed:")
    others = [v for v in verdicts if v.reviewer != "victim"]
    assert all(v.stance == "approve" and v.error is None for v in others), "control: all approve"

    def decide(verdicts: tuple[Verdict, ...]) -> str:
        return aggregate(
            proposal,
            verdicts,
            config.commander,
            decision_id="d",
            created_at="2026-11-20T10:00:00Z",
            policy_version=config.policy_version,
        ).outcome

    assert decide(tuple(others)) == "approve"
    assert decide(verdicts) == "escalate"


def _node_of(seconds: float) -> str:
    """Which Ray node ran this item (after holding its CPU a moment)."""
    time.sleep(seconds)
    return str(ray.get_runtime_context().get_node_id())


def _square_or_fail(n: int) -> int:
    if n == 3:
        raise ValueError("three is not allowed")
    return n * n


def test_map_reviews_spreads_items_over_both_nodes_in_order(cluster: Any) -> None:
    """A batch runs on both nodes, at most max_in_flight at once, results in item order."""
    from orchestrator.executors.ray import map_reviews

    assert map_reviews(range(10), lambda n: n * n, max_in_flight=3) == [n * n for n in range(10)]
    nodes = map_reviews([0.5] * 8, _node_of)
    assert len(set(nodes)) == 2


def test_map_reviews_fails_the_batch_on_a_failed_item(cluster: Any) -> None:
    """One failing item fails the whole batch with its index: a batch is never silently partial."""
    from orchestrator.executors.ray import map_reviews

    with pytest.raises(ReviewRunError, match=r"batch item 3 failed: ValueError: three is not"):
        map_reviews(range(6), _square_or_fail, max_in_flight=2)


def _review_cli(run_cli: Any, plan: Path, *args: str) -> dict[str, Any]:
    result = run_cli(
        "review", str(plan), "--output", "json", "--topology", str(EXAMPLE / "topology.yaml"), *args
    )
    assert result.code in EXIT.values(), result.stderr
    decision = json.loads(result.stdout)
    assert result.code == EXIT[decision["outcome"]]
    return decision


def test_cli_review_on_the_cluster_decides_as_local(
    cluster: Any, run_cli: Any, tmp_path: Path
) -> None:
    """`commander review --executor ray --ray-address ADDR` reaches the same decision as local."""
    plan = EXAMPLE / "plan.json"
    # separate stores: the second review must not see the first in the actor's history
    remote = _review_cli(
        run_cli,
        plan,
        *("--db", f"sqlite:///{tmp_path / 'ray.db'}"),
        *("--executor", "ray", "--ray-address", cluster.address),
    )
    local = _review_cli(run_cli, plan, "--db", f"sqlite:///{tmp_path / 'local.db'}")
    assert remote["outcome"] == local["outcome"] == "escalate"
    assert remote["proposal_digest"] == local["proposal_digest"]

    def verdicts(decision: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in x.items() if k != "duration_ms"} for x in decision["verdicts"]]

    assert verdicts(remote) == verdicts(local)


def test_folder_review_on_the_cluster_decides_as_local(
    cluster: Any, run_cli: Any, tmp_path: Path
) -> None:
    """`commander review DIR --executor ray`: per-file tasks on the cluster, the local decisions."""
    from tests.test_batch import OUTCOMES, comparable, mixed_folder
    from tests.test_batch import review_folder as review_dir

    folder = mixed_folder(tmp_path / "plans")
    ray_db, local_db = (f"sqlite:///{tmp_path / name}" for name in ("ray.db", "local.db"))
    on_ray = ("--executor", "ray", "--ray-address", cluster.address)
    remote = review_dir(run_cli, folder, ray_db, "--output", "json", *on_ray)
    local = review_dir(run_cli, folder, local_db, "--output", "json")

    assert remote.code == local.code == 4, remote.stderr
    remote_decisions, local_decisions = json.loads(remote.stdout), json.loads(local.stdout)
    assert [d["outcome"] for d in remote_decisions] == list(OUTCOMES.values())
    assert list(map(comparable, remote_decisions)) == list(map(comparable, local_decisions))


def test_backtest_on_the_cluster_reports_as_local(
    cluster: Any, run_cli: Any, tmp_path: Path
) -> None:
    """`commander backtest --executor ray`: the same report, in the same order, as local."""
    from tests.test_backtest import LOW_APPROVE
    from tests.test_batch import noop_plan
    from tests.test_replay import STRICT, TOPOLOGY, candidate_dir, review

    db = f"sqlite:///{tmp_path / 'audit.db'}"
    noop = tmp_path / "noop.json"
    noop.write_text(noop_plan(), encoding="utf-8")
    for actor in ["refactor-bot", "coding-agent", "alice"] * 2:
        review(db, EXAMPLE / "plan.json" if actor == "refactor-bot" else noop, actor=actor)
    strict = candidate_dir(tmp_path, **STRICT, **LOW_APPROVE)
    args = ["backtest", "--config", str(strict), "--topology", str(TOPOLOGY), "--db", db]
    on_ray = ["--executor", "ray", "--ray-address", cluster.address]

    local = {out: run_cli(*args, "--output", out) for out in ("json", "text")}
    remote = {out: run_cli(*args, "--output", out, *on_ray) for out in ("json", "text")}

    for out in ("json", "text"):
        assert remote[out].code == local[out].code == 0, remote[out].stderr
        assert remote[out].stdout == local[out].stdout
    report = json.loads(remote["json"].stdout)
    assert (report["replayed"], report["flipped"]) == (6, 6)
    assert report["transitions"] == {"approve -> escalate": 4, "escalate -> reject": 2}


class DiesOnOneFile:
    """Approves every file but one; on that one its worker exits, or hangs to be killed."""

    stage = 1

    def __init__(self, name: str, target: str, pid_file: Path, then: str) -> None:
        self.name = name
        self._target = target
        self._dying = PidReviewer(name, pid_file, then)

    async def review(self, proposal: Proposal, context: ReviewContext) -> Verdict:
        """Approve, unless the proposal came from the target file."""
        if Path(proposal.input_name).name == self._target:
            return await self._dying.review(proposal, context)
        return Verdict(reviewer=self.name, stance="approve", risk_tier=RiskTier.LOW, confidence=1.0)


@pytest.mark.parametrize("death", ["exits", "killed"])
def test_a_worker_dying_mid_folder_review_fails_that_file_never_approves(
    cluster: Any, tmp_path: Path, death: str
) -> None:
    """The file whose worker died is failed, not approved; the others are recorded; exit 1."""
    import dataclasses
    import threading

    from orchestrator.batch import list_inputs, review_folder
    from orchestrator.review import ReviewRequest, prepare
    from orchestrator.settings import Settings
    from orchestrator.store import Store
    from tests.test_batch import mixed_folder

    folder = mixed_folder(tmp_path / "plans")
    pid_file = tmp_path / "pid"
    victim = DiesOnOneFile(
        "victim", "a-noop.json", pid_file, "exit" if death == "exits" else "hang"
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'audit.db'}", config_dir=None, topology=None
    )
    setup = prepare(settings)
    setup = dataclasses.replace(setup, reviewers=_with(setup.reviewers, victim))
    request = ReviewRequest(
        path=str(folder),
        submission=Submission(source=Source.AI_AGENT, actor="coding-agent", environment="prod"),
        settings=settings,
        executor="ray",
    )

    def kill_the_victim() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if pid_file.exists() and (pid := pid_file.read_text(encoding="utf-8")):
                os.kill(int(pid), signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_victim, daemon=True)
    if death == "killed":
        killer.start()
    started = time.monotonic()
    with Store.open(settings.database_url) as store:
        result = review_folder(setup, store, request, list_inputs(folder))
    assert time.monotonic() - started < 30, "a dead worker must fail its file at once"

    dead, *others = result.files
    assert dead.path.name == "a-noop.json"  # approved when its worker lives (test_batch.py)
    assert dead.decision is None
    assert dead.error is not None
    assert dead.error.startswith(f"{folder / 'a-noop.json'}: Ray task failed:"), dead.error
    assert [f.decision.outcome for f in others if f.decision] == ["escalate", "reject"]
    assert result.exit_code == 1
    assert pid_file.exists()


def test_cli_unreachable_ray_fails_in_one_line_and_records_nothing(
    run_cli: Any, cli_env: dict[str, str]
) -> None:
    """A Ray address nobody answers on is exit 1 with one line, fast, and no decision stored."""
    if ray is None:
        pytest.skip("Ray is not installed: pip install 'commander[ray]'")
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = run_cli(
        "review",
        str(EXAMPLE / "plan.json"),
        "--executor",
        "ray",
        "--ray-address",
        f"127.0.0.1:{port}",
    )
    assert time.monotonic() - started < 30
    assert result.code == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"commander: error: cannot reach the Ray cluster at 127.0.0.1:{port}")
    from orchestrator.store import Store

    store = Store.open(cli_env["COMMANDER_DATABASE_URL"])
    try:
        assert store.history("unknown", limit=10) == ()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("command", "code"),
    [("review", 3), ("review-folder", 3), ("backtest", 0)],
)
def test_the_default_path_never_imports_ray(
    cli_env: dict[str, str], tmp_path: Path, command: str, code: int
) -> None:
    """A local review, folder review or backtest runs to the end without loading a Ray module."""
    from orchestrator.config import shipped_config_dir

    plan = EXAMPLE / "plan.json"
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "plan.json").write_bytes(plan.read_bytes())
    argv = {
        "review": ["review", str(plan), "--output", "json"],
        "review-folder": ["review", str(tmp_path / "plans"), "--output", "json"],
        "backtest": ["backtest", "--config", str(shipped_config_dir())],
    }[command]
    if command == "backtest":
        from orchestrator.store import Store

        Store.open(cli_env["COMMANDER_DATABASE_URL"]).close()  # read commands need a store
    exit_code, loaded, stderr = modules_after(argv, cli_env)
    assert exit_code == code, stderr
    assert roots(loaded, ("ray",)) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has died
    return True


@pytest.mark.parametrize(
    ("flag", "environ", "expected"),
    [
        (None, {}, None),
        (None, {"COMMANDER_RAY_ADDRESS": "10.0.0.5:6379"}, "10.0.0.5:6379"),
        ("auto", {"COMMANDER_RAY_ADDRESS": "10.0.0.5:6379"}, "auto"),
    ],
)
def test_ray_address_precedence_is_flag_then_environment(
    flag: str | None, environ: dict[str, str], expected: str | None
) -> None:
    """--ray-address wins over COMMANDER_RAY_ADDRESS; neither means a private local Ray."""
    from orchestrator.settings import resolve

    assert resolve(db="sqlite://", ray_address=flag, environ=environ).ray_address == expected


def test_an_unknown_executor_is_a_usage_error() -> None:
    """Only local and ray are executors; anything else is wrong usage (exit 2)."""
    from orchestrator.errors import UsageError

    with pytest.raises(UsageError, match="unknown executor 'dask'"):
        make_executor("dask")


def test_the_service_on_the_cluster_escalates_when_a_worker_dies(
    cluster: Any, tmp_path: Path
) -> None:
    """`commander serve --executor ray` decides as local; a dead worker is never a 2xx approve."""
    from tests.service_support import IAM_PLAN, running_service

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    agent = {"actor": "coding-agent", "source": "ai-agent", "environment": "development"}
    small = json.dumps(_small_dev_plan()).encode()
    with running_service(url, tmp_path, ray_address=cluster.address) as service:
        iam = service.submit(IAM_PLAN.read_bytes(), actor="refactor-bot", source="ai-agent")
        assert (iam.status_code, iam.json()["outcome"]) == (201, "escalate")
        assert service.submit(small, **agent, change_id="a").json()["outcome"] == "approve"

        state = service.state
        victim = PidReviewer("victim", tmp_path / "pid", "exit")
        on_ray = _with(state.setup.reviewers, victim)
        state.setup = dataclasses.replace(state.setup, reviewers=on_ray)
        died = service.submit(small, **agent, change_id="b")
        assert died.status_code == 201
        decision = died.json()
        assert decision["outcome"] == "escalate"
        failed = next(v for v in decision["verdicts"] if v["reviewer"] == "victim")
        assert failed["error"].startswith("Ray task failed:")
