"""Peak resident memory of `commander serve` per MB of a submitted plan.

Generates a valid Terraform plan of about `--megabytes` MB (review_bench's
generator: modules, prior state, references), starts `commander serve` as
a process on a loopback port with a SQLite store, submits the plan once
and samples the server's VmRSS every 10 ms while it reviews and records
it. Prints the growth over the idle server per MB of plan: the figure the
README's security section gives for sizing a pod against `--max-body`.

Usage:
    python bench/service_memory.py --megabytes 40
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

from bench.review_bench import generate_plan, generate_topology
from orchestrator.service.auth import hash_token

MB = 1 << 20
TOKEN = "cmdr_bench-token"  # noqa: S105 - a throwaway token for a loopback server


def plan_of_size(megabytes: float, services: int) -> bytes:
    """A plan of about `megabytes` MB: the change count scaled from a small sample."""
    sample = len(json.dumps(generate_plan(2000, services)))
    changes = max(2000, int(megabytes * MB / sample * 2000))
    return json.dumps(generate_plan(changes, services)).encode()


def rss(pid: int) -> int:
    """A process's resident memory in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def serve(folder: Path, services: int) -> tuple[subprocess.Popen[bytes], str]:
    """`commander serve` on a free loopback port, once /healthz answers."""
    tokens = folder / "tokens.yaml"
    entry = {"name": "bench", "roles": ["ci"], "token_sha256": hash_token(TOKEN)}
    tokens.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
    topology = folder / "topology.yaml"
    topology.write_text(yaml.safe_dump(generate_topology(services)), encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    env["COMMANDER_DATABASE_URL"] = f"sqlite:///{folder / 'audit.db'}"
    commander = Path(sys.executable).parent / "commander"
    command = [str(commander), "serve", "--port", str(port), "--tokens", str(tokens)]
    command += ["--topology", str(topology), "--max-body", str(1 << 30)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the service did not start")


def main() -> None:
    """Measure and print the peak growth per MB of plan."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=40)
    parser.add_argument("--services", type=int, default=200)
    args = parser.parse_args()
    plan = plan_of_size(args.megabytes, args.services)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve(Path(tmp), args.services)
        try:
            idle = rss(proc.pid)
            peak = idle
            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.wait(0.01):
                    peak = max(peak, rss(proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            answer = httpx.post(
                f"{url}/v1/reviews",
                params={"actor": "bench", "name": "plan.json"},
                content=plan,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=3600,
            )
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    size = len(plan) / MB
    print(f"plan {size:.1f} MB, answer {answer.status_code} {answer.json().get('outcome')}")
    print(f"idle server {idle / MB:.0f} MB, peak {peak / MB:.0f} MB, {seconds:.1f} s")
    print(f"peak growth per MB of plan: {(peak - idle) / MB / size:.1f}")


if __name__ == "__main__":
    main()
