"""Load test of `commander serve` on loopback: throughput, latency, nothing lost or duplicated.

Starts the service as a real subprocess on a free loopback port (SQLite by
default, or --db URL), then CLIENTS threads submit ordinary plans for
--seconds: each a small plan with its own content, and every tenth a retry
of one already sent (which must come back as the same decision, 200).
Afterwards it counts the decisions the load recorded: one per distinct plan,
no more, no fewer. The peer, measured in the same run, is the same kind of
plan reviewed by `commander review` as one process each.

    python bench/service_load.py [--clients 8] [--seconds 30] [--db URL] [--workers N]
        [--topology 1000] [--prefill 20000] [--peer-runs 0]

It prints the serving processes' CPU time per request (user + system, over
the load after --warmup seconds), the steadier figure on a shared machine, with the load
average; with --prefill N the store first holds N earlier decisions of the
load's actor (bench/store_prefill.py), to show what a larger store costs.
"""

from __future__ import annotations

import argparse
import json
import os
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
from load_server import TOKEN, service
from review_bench import generate_topology
from store_prefill import prefill

from orchestrator.store import database_url
from orchestrator.testing import plan_document, resource_change


def plan(n: int, services: int = 0) -> bytes:
    """An ordinary plan: three S3 objects created, content unique to `n`.

    With a topology of `services` services, the objects sit in one service's
    module (svcK owns module.svcK.*), so the blast-radius reviewer walks the graph.
    """
    module = f"module.svc{n % services}." if services else ""
    changes = [
        resource_change(
            f'{module}aws_s3_object.load{n}["{i}"]', ["create"], after={"key": f"{n}/{i}"}
        )
        for i in range(3)
    ]
    return json.dumps(plan_document(changes)).encode()


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


def client(url: str, load: Load, stop: float, services: int) -> None:
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
                "/v1/reviews", content=plan(n, services), params=params | {"name": f"p{n}.json"}
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


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--db", help="PostgreSQL server URL (the run uses a schema of its own); default SQLite"
    )
    parser.add_argument("--workers", type=int, default=1, help="commander serve --workers N")
    parser.add_argument(
        "--topology", type=int, default=0, metavar="M",
        help="load a generated topology of M services (as review_bench.py builds it)",
    )  # fmt: skip
    parser.add_argument(
        "--prefill", type=int, default=0, metavar="N",
        help="first fill the store with N earlier decisions of the load's actor",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of load before measuring"
    )
    parser.add_argument("--peer-runs", type=int, default=7, help="0: no CLI peer")
    return parser.parse_args()


def main() -> None:
    args = parse()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp, private_store(args.db, Path(tmp)) as db:
        folder = Path(tmp)
        extra = ["--workers", str(args.workers)] if args.workers > 1 else []
        if args.topology:
            topology = folder / "topology.json"
            topology.write_text(json.dumps(generate_topology(args.topology)), encoding="utf-8")
            extra += ["--topology", str(topology)]
        if args.prefill:
            seed = folder / "seed.json"
            seed.write_bytes(plan(10_000_000, args.topology))
            prefill(db, args.prefill, seed, "load-ci", env)
        before = decision_ids(db)
        with service(db, folder, extra) as server:
            server.quiesce()
            load = Load()
            stop = time.monotonic() + args.warmup + args.seconds
            threads = [
                threading.Thread(target=client, args=(server.url, load, stop, args.topology))
                for _ in range(args.clients)
            ]
            for t in threads:
                t.start()
            # Each worker's first requests pay for lazy imports and statement caches.
            time.sleep(args.warmup)
            with load.lock:
                first = len(load.latencies)
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            cpu = server.cpu_seconds() - cpu_before
            rss = server.rss_mib()
        ids = decision_ids(db) - before
        peer = cli_peer(folder, args.peer_runs) if args.peer_runs else None

    lat = sorted(load.latencies[first:])
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    store = "PostgreSQL" if db.startswith("postgres") else "SQLite"
    print(f"cores: {os.cpu_count()}  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
          f"  clients: {args.clients}  workers: {args.workers}  store: {store}")  # fmt: skip
    print(f"topology: {args.topology or 'none'} services  decisions in the store before: "
          f"{len(before)}  duration: {wall:.1f} s")  # fmt: skip
    print(f"measured requests (after {args.warmup:g} s of warm-up): {len(lat)}  "
          f"throughput: {len(lat) / wall:.1f} req/s  new decisions (all): {len(load.new)}  "
          f"retries: {load.replays}")  # fmt: skip
    print(f"latency p50: {p50 * 1000:.0f} ms  p99: {p99 * 1000:.0f} ms")
    print(f"server CPU: {cpu:.1f} s  per review: {cpu / max(len(lat), 1) * 1000:.1f} ms  "
          f"RSS per process (MiB): {', '.join(f'{r:.0f}' for r in rss)}")  # fmt: skip
    if peer is not None:
        print(f"peer `commander review` process, median of {args.peer_runs}: {peer * 1000:.0f} ms "
              f"(service p50 is {peer / p50:.1f}x faster per review)")  # fmt: skip
    lost = set(load.new.values()) - ids
    print(f"decisions recorded by the load: {len(ids)}  lost: {len(lost)}  "
          f"duplicated: {len(ids) - len(load.new)}  replay mismatches: {load.replay_mismatches}  "
          f"errors: {len(load.errors)}")  # fmt: skip
    for error in load.errors[:5]:
        print(f"  error {error}")
    if lost or len(ids) != len(load.new) or load.replay_mismatches or load.errors:
        sys.exit(1)


def decision_ids(db: str) -> set[str]:
    """Every decision id in the store (none when it has no schema yet)."""
    engine = sa.create_engine(database_url(db))
    try:
        with engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.text("SELECT decision_id FROM decisions"))}
    except sa.exc.DBAPIError:
        return set()
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
