"""Benchmark `commander guard` as an agent's hook runs it: a whole process per tool call.

Times whole `commander guard` processes fed a Claude Code `PreToolUse`
payload on standard input, and reports medians with the interpreter's own
start measured in the same run as the peer:

* `python -c pass`   the floor: an interpreter that does nothing (the peer of
                     the read-only answer);
* `commander review` of examples/iam-boundary/plan.json: a cold review of a
                     small plan (the peer of the mutating answer, which runs
                     the same review path);
* read-only          `git status && kubectl get pods -A`: answered from the
                     compiled catalog and the shell parser, not recorded (with
                     the default cache directory, which costs platformdirs'
                     import, and with COMMANDER_CACHE_DIR set);
* mutating           `kubectl delete deploy web-N -n prod` (a new N each run,
                     so no earlier decision answers it): every reviewer, the
                     gate and a recorded decision in a SQLite store;
* via service        the same two calls with COMMANDER_URL set: one HTTP
                     request to a `commander serve` on loopback.

Each row gives the median wall time and the median CPU time (user + system)
of the process: on a machine shared with other work the wall time stretches
while the CPU time stays close to what an idle machine's wall time would be.
The first call with an empty cache also compiles configs/commands.yaml
(YAML and pydantic) into the JSON the later calls read: reported on its own.
Python is run with bytecode caching on (into a temporary prefix), as an
installed package has it; PYTHONDONTWRITEBYTECODE would make every run
compile every module from source.

Usage:
    python bench/guard_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from orchestrator.service.auth import hash_token, new_token

COMMANDER = [sys.executable, "-m", "orchestrator"]
READ_ONLY = "git status && kubectl get pods -A"


def payload(command: str, cwd: Path) -> bytes:
    """A Claude Code PreToolUse payload for the Bash tool."""
    return json.dumps(
        {
            "session_id": "bench",
            "cwd": str(cwd),
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command},
        }
    ).encode()


REPO = Path(__file__).resolve().parent.parent
PLAN = REPO / "examples" / "iam-boundary" / "plan.json"


class Timing:
    """Wall and CPU seconds of whole processes."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def line(self, name: str, peer: Timing | None = None) -> str:
        """One row: medians, and the ratio to the peer's wall median."""
        wall, cpu = statistics.median(self.wall), statistics.median(self.cpu)
        ratio = f"   {wall / statistics.median(peer.wall):5.1f}x its peer" if peer else ""
        return f"  {name:<34} wall {wall:6.3f}   cpu {cpu:6.3f}{ratio}"


def timed(
    argv: list[str], stdin: bytes, env: dict[str, str], into: Timing | None = None
) -> tuple[float, str]:
    """Wall seconds of one whole process, and its answer; exits on an unexpected failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 3, 4):
        sys.exit(f"bench: {' '.join(argv)} failed ({done.returncode}): {done.stderr[:500]!r}")
    if into is not None:
        into.wall.append(elapsed)
        into.cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed, done.stdout.decode()


def decision_of(answer: str) -> str:
    """allow / ask / deny from a Claude Code answer."""
    return str(json.loads(answer)["hookSpecificOutput"]["permissionDecision"])


def series(runs: int, argv: list[str], make_stdin: object, env: dict[str, str]) -> Timing:
    """`runs` timings; make_stdin(i) gives run i's standard input."""
    assert callable(make_stdin)
    found = Timing()
    for i in range(runs):
        timed(argv, make_stdin(i), env, found)
    return found


def free_port() -> int:
    """A loopback port nobody listens on yet."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_service(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str]:
    """`commander serve` on loopback with one agent token; waits until it answers."""
    token = new_token()
    tokens = folder / "tokens.yaml"
    entry = {"name": "claude-code", "roles": ["agent"], "token_sha256": hash_token(token)}
    tokens.write_text(json.dumps({"principals": [entry]}), encoding="utf-8")
    port = free_port()
    argv = [*COMMANDER, "serve", "--port", str(port), "--tokens", str(tokens)]
    argv += ["--db", f"sqlite:///{folder / 'service.db'}"]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - loopback
                return server, url, token
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.2)
    server.kill()
    _, err = server.communicate()
    sys.exit(f"bench: commander serve did not start: {err.decode()[-500:]}")


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as scratch:
        folder = Path(scratch)
        repo = folder / "repo"
        (repo / ".git").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env |= {
            "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
            # the default cache directory (platformdirs), kept inside the scratch folder
            "XDG_CACHE_HOME": str(folder / "xdg"),
            "COMMANDER_DATABASE_URL": f"sqlite:///{folder / 'store.db'}",
        }
        guard = [*COMMANDER, "guard"]
        review = [*COMMANDER, "review", str(PLAN), "--actor", "bench", "--output", "json"]
        read_only = payload(READ_ONLY, repo)

        def mutating(i: int) -> bytes:
            return payload(f"kubectl delete deploy web-{i} -n prod", repo)

        # bytecode for every module on the paths measured, written once, as an install does
        warm = env | {"XDG_CACHE_HOME": str(folder / "warm")}
        for argv, stdin in ((guard, read_only), (guard, mutating(10_000)), (review, b"")):
            timed(argv, stdin, warm)
        first, answer = timed(guard, mutating(10_001), env)  # the cache is empty: compiles
        assert decision_of(answer) == "ask", answer
        assert decision_of(timed(guard, read_only, env)[1]) == "allow"

        peer = series(args.runs, [sys.executable, "-c", "pass"], lambda _: b"", env)
        fast = series(args.runs, guard, lambda _: read_only, env)
        cached = env | {"COMMANDER_CACHE_DIR": str(folder / "xdg" / "commander")}
        fast_cached = series(args.runs, guard, lambda _: read_only, cached)
        reviewed = series(args.runs, review, lambda _: b"", env)
        slow = series(args.runs, guard, mutating, env)

        server, url, token = start_service(folder, env)
        try:
            remote = env | {"COMMANDER_URL": url, "COMMANDER_TOKEN": token}
            assert decision_of(timed(guard, mutating(20_000), remote)[1]) == "ask"
            remote_fast = series(args.runs, guard, lambda _: read_only, remote)
            remote_slow = series(args.runs, guard, lambda i: mutating(30_000 + i), remote)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"commander guard, {args.runs} runs each: median seconds of a whole process")
    print(peer.line("python -c pass (peer)"))
    print(fast.line("read-only", peer))
    print(fast_cached.line("read-only, COMMANDER_CACHE_DIR set", peer))
    print(remote_fast.line("read-only via service", peer))
    print(reviewed.line("commander review, small plan (peer)"))
    print(slow.line("mutating, reviewed, recorded", reviewed))
    print(remote_slow.line("mutating via service", reviewed))
    print(f"  first call, empty cache (compiles the catalog; mutating): wall {first:.3f}")


if __name__ == "__main__":
    main()
