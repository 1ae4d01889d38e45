"""Load test of `commander serve` on loopback: throughput, latency, nothing lost or duplicated.

Starts the service as a real subprocess on a free loopback port (SQLite by
default, or --db URL), then CLIENTS threads submit ordinary plans for
--seconds: each a small plan with its own content, and every tenth a retry
of one already sent (which must come back as the same decision, 200).
Afterwards it counts the decisions in the store: one per distinct plan, no
more, no fewer. The peer, measured in the same run, is the same kind of
plan reviewed by `commander review` as one process each.

    python bench/service_load.py [--clients 8] [--seconds 30] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa
import yaml

from orchestrator.service.auth import hash_token
from orchestrator.store import database_url
from orchestrator.testing import plan_document, resource_change

TOKEN = "cmdr_load-test-token"  # noqa: S105 - a loopback-only test token


def plan(n: int) -> bytes:
    """An ordinary plan: three S3 objects created, content unique to `n`."""
    changes = [
        resource_change(f'aws_s3_object.load{n}["{i}"]', ["create"], after={"key": f"{n}/{i}"})
        for i in range(3)
    ]
    return json.dumps(plan_document(changes)).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def service(db: str, folder: Path) -> Iterator[str]:
    tokens = folder / "tokens.yaml"
    entry = {"name": "load", "roles": ["ci"], "token_sha256": hash_token(TOKEN)}
    tokens.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = ["commander", "serve", "--port", str(port), "--tokens", str(tokens), "--db", db]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                sys.exit(f"service did not start: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("service did not become ready in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Load:
    """What the clients saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.new: dict[int, str] = {}  # plan number → decision id
        self.replays = 0
        self.replay_mismatches = 0
        self.errors: list[str] = []
        self.next_plan = 0

    def take(self) -> int:
        with self.lock:
            self.next_plan += 1
            return self.next_plan


def client(url: str, load: Load, stop: float) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    params = {"actor": "load-ci", "source": "automation", "environment": "dev"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        sent = 0
        while time.monotonic() < stop:
            sent += 1
            retry = sent % 10 == 0 and bool(load.new)
            with load.lock:
                n = next(iter(load.new)) if retry else None
            if n is None:
                n = load.take()
                retry = False
            started = time.perf_counter()
            answer = http.post(
                "/v1/reviews", content=plan(n), params=params | {"name": f"p{n}.json"}
            )
            elapsed = time.perf_counter() - started
            with load.lock:
                load.latencies.append(elapsed)
                if answer.status_code not in (200, 201):
                    load.errors.append(f"{answer.status_code}: {answer.text[:200]}")
                elif retry:
                    load.replays += 1
                    if answer.status_code != 200 or answer.json()["decision_id"] != load.new[n]:
                        load.replay_mismatches += 1
                elif answer.status_code == 201:
                    load.new[n] = answer.json()["decision_id"]
                else:
                    load.errors.append(f"plan {n} sent once came back as a replay")


def cli_peer(folder: Path, runs: int) -> float:
    """Median wall time of `commander review` processes on the same kind of plan."""
    db = f"sqlite:///{folder / 'peer.db'}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for i in range(runs):
        path = folder / f"peer{i}.json"
        path.write_bytes(plan(1_000_000 + i))
        started = time.perf_counter()
        subprocess.run(
            ["commander", "review", str(path), "--db", db, "--source", "automation",
             "--actor", "load-ci", "--environment", "dev", "--output", "json"],
            env=env, stdout=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def private_store(db: str | None, folder: Path) -> Iterator[str]:
    """A store of the run's own: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if db is None:
        yield f"sqlite:///{folder / 'service.db'}"
        return
    if not db.startswith("postgresql"):
        yield db
        return
    schema = f"commander_load_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url(db))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = sa.make_url(db).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--db", help="PostgreSQL server URL (the run uses a schema of its own); default SQLite"
    )
    parser.add_argument("--peer-runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, private_store(args.db, Path(tmp)) as db:
        folder = Path(tmp)
        with service(db, folder) as url:
            load = Load()
            stop = time.monotonic() + args.seconds
            started = time.perf_counter()
            threads = [
                threading.Thread(target=client, args=(url, load, stop)) for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        engine = sa.create_engine(database_url(db))
        with engine.connect() as conn:
            recorded = conn.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
            ids = {r[0] for r in conn.execute(sa.text("SELECT decision_id FROM decisions"))}
        engine.dispose()
        peer = cli_peer(folder, args.peer_runs)

    lat = sorted(load.latencies)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"cores: {os.cpu_count()}  clients: {args.clients}  duration: {wall:.1f} s  store: "
          f"{'PostgreSQL' if db.startswith('postgres') else 'SQLite'}")  # fmt: skip
    print(f"requests: {len(lat)}  throughput: {len(lat) / wall:.1f} req/s  "
          f"new decisions: {len(load.new)}  retries: {load.replays}")  # fmt: skip
    print(f"latency p50: {p50 * 1000:.0f} ms  p99: {p99 * 1000:.0f} ms")
    print(f"peer `commander review` process, median of {args.peer_runs}: {peer * 1000:.0f} ms "
          f"(service p50 is {peer / p50:.1f}x faster per review)")  # fmt: skip
    lost = set(load.new.values()) - ids
    print(f"decisions in the store: {recorded}  lost: {len(lost)}  "
          f"duplicated: {recorded - len(load.new)}  replay mismatches: {load.replay_mismatches}  "
          f"errors: {len(load.errors)}")  # fmt: skip
    for error in load.errors[:5]:
        print(f"  error {error}")
    if lost or recorded != len(load.new) or load.replay_mismatches or load.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
