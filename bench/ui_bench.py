"""Benchmark the web view (/ui) on a store of 100,000 decisions: server time per page.

Records `--recorded` decisions as bench/audit_bench.py does (rows exactly as
a review writes them, chained, with escalations opened and budgets counted,
1,000 to a transaction), then copies them in SQL, each copy later in time and
under new ids, until the store holds `--decisions` (recording 100,000 one by
one takes most of an hour on a busy machine; the pages read the copies'
rows as they read recorded ones, though the chain does not cover them: this
bench measures reading, not verifying). It links an incident to a few
decisions, starts the real service
on a loopback port, logs in through the form, and asks each page several
times. The figure is the page's own `Server-Timing` (rendering and store
reads, without the socket), median and worst, against the 200 ms budget of
issue 20, and the CPU the process spent on the request (median; the service
runs in a thread of this process), which is what a page costs on a machine
that is not shared: on a busy one the wall time is mostly waiting. The
first request of a decision page draws its graph (Graphviz when `dot` is
installed); the median is the page once drawn, the worst includes that
first drawing.

Usage:
    python bench/ui_bench.py                               # 100,000 decisions, temp SQLite
    python bench/ui_bench.py --db sqlite:////tmp/ui100k.db # built once, reused after
    python bench/ui_bench.py --db postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
import yaml

from orchestrator.service.app import create_app
from orchestrator.service.auth import hash_token
from orchestrator.service.state import ServiceOptions
from orchestrator.settings import Settings
from orchestrator.store import Store
from orchestrator.store.incidents import link_incident
from orchestrator.store.tables import METADATA

sys.path.insert(0, str(Path(__file__).parent))
from audit_bench import build  # the same store as the audit bench

BUDGET_MS = 200.0
TOKEN = "cmdr_bench-reader"  # noqa: S105 - a token for a throwaway loopback service
INCIDENT = "INC-BENCH"


# Columns a copy changes: ids get a suffix, times move later, chain positions move up.
_IDS = {"decision_id", "elevation_id"}
_TIMES = {"created_at", "expires_at", "closed_at", "counted_at", "linked_at"}
_SEQS = {"seq", "chain_seq"}
_COPIED = (
    "decisions",
    "verdicts",
    "findings",
    "finding_resources",
    "decision_resources",
    "decision_services",
    "decision_dissenters",
    "audit_chain",
    "change_submissions",
    "escalations",
    "budget_usage",
)


def multiply(store: Store, recorded: int, total: int) -> None:
    """Copy the recorded decisions (and their rows in every table) until there are `total`."""
    with store.reading("measure the recorded span") as conn:
        dialect = conn.dialect.name
        top = conn.exec_driver_sql("SELECT max(seq) FROM audit_chain").scalar() or 0
    span = recorded * 30  # audit_bench records one decision every 30 seconds
    copies = -(-total // recorded) - 1
    for k in range(1, copies + 1):
        keep = min(recorded, total - k * recorded)
        with store.writing(f"copy {k}") as conn:
            for name in _COPIED:
                cols = [c.name for c in METADATA.tables[name].columns]
                exprs = [
                    _copied(name, c, k=k, seconds=k * span, seqs=k * top, dialect=dialect)
                    for c in cols
                ]
                key = "ref_id" if name == "audit_chain" else "decision_id"
                conn.exec_driver_sql(
                    f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(exprs)} "  # noqa: S608
                    f"FROM {name} WHERE {key} NOT LIKE '%-c%' AND {key} <= '{keep - 1:08d}-bench'"
                )
        print(f"  copied to {min(total, (k + 1) * recorded):,} decisions", file=sys.stderr)


def _copied(table: str, col: str, *, k: int, seconds: int, seqs: int, dialect: str) -> str:
    if col in _IDS or (table == "audit_chain" and col == "ref_id"):
        return f"{col} || '-c{k}'"
    if col in _TIMES:
        if dialect == "sqlite":
            return (
                f"strftime('%Y-%m-%d %H:%M:%S', {col}, '+{seconds} seconds') || substr({col}, 20)"
            )
        return f"{col} + interval '{seconds} seconds'"
    if col in _SEQS:
        return f"{col} + {seqs}"
    if table == "audit_chain" and col in ("hash", "prev_hash"):
        return f"substr({col}, 1, 58) || '{k:06d}'"
    if table == "change_submissions" and col == "change_id":
        return f"{col} || '-c{k}'"
    return col


def pages(total: int) -> dict[str, str]:
    """The pages asked for: every filter of the list, a deep page, and one of each other page."""
    newest = f"{total - 1:08d}-bench"
    return {
        "list, no filter": "/ui/",
        "list, actor": "/ui/?actor=agent-3",
        "list, source + environment": "/ui/?source=ai-agent&environment=production",
        "list, outcome + tier": "/ui/?outcome=escalate&tier=medium",
        "list, resource glob": "/ui/?resource=module.svc7.aws_instance.*",
        "list, service": "/ui/?service=svc42",
        "list, dissenter": "/ui/?dissenter=contrarian",
        "list, gate state expired": "/ui/?gate_state=expired",
        "list, gate state pending": "/ui/?gate_state=pending",
        "list, time range": "/ui/?since=2026-01-10&until=2026-01-11",
        "list, page 200 (cursor)": "",  # filled in by following the cursor
        "decision": f"/ui/decisions/{newest}",
        "decision + replay": f"/ui/decisions/{newest}?replay=1",
        "incident": f"/ui/incidents/{INCIDENT}",
        "incident + backtest (button)": f"/ui/incidents/{INCIDENT}?backtest=1",
        "actor": "/ui/actors/agent-3",
    }


def serve(url: str, folder: Path) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The service on a free loopback port, in a thread."""
    tokens = folder / "tokens.yaml"
    principal = {"name": "reader", "roles": ["ci"], "token_sha256": hash_token(TOKEN)}
    tokens.write_text(yaml.safe_dump({"principals": [principal]}), encoding="utf-8")
    settings = Settings(database_url=url, config_dir=None, topology=None)
    app = create_app(ServiceOptions(settings=settings, tokens=tokens))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def deep_page(client: httpx.Client, hops: int) -> str:
    """The URL of the list's page `hops` pages down, by following the cursor."""
    url = "/ui/"
    for _ in range(hops):
        text = client.get(url).text
        url = "/ui/" + text.split('id="next-page" href="/ui/')[1].split('"')[0].replace(
            "&amp;", "&"
        )
    return url


def _move_head(store: Store) -> None:
    """Point the chain head at the last copied link, so new events append after the copies."""
    with store.writing("move the chain head past the copies") as conn:
        conn.exec_driver_sql(
            "UPDATE chain_head SET seq = (SELECT max(seq) FROM audit_chain), "
            "hash = (SELECT hash FROM audit_chain ORDER BY seq DESC LIMIT 1)"
        )


def _count(store: Store, table: str) -> int:
    with store.reading(f"count {table}") as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)  # noqa: S608


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--recorded", type=int, default=20_000, help="recorded one by one")
    parser.add_argument("--db", help="database URL (default: a temp SQLite file); reused if full")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'audit.db'}"
        with Store.open(url) as store:
            started = time.perf_counter()
            held = _count(store, "decisions")
            if held == 0:
                print(f"recording {args.recorded:,} decisions in {store.url} …", file=sys.stderr)
                build(store, args.recorded)
            elif held < args.recorded:
                raise SystemExit(f"{store.url} holds {held:,} decisions, fewer than --recorded")
            if _count(store, "decisions") < args.decisions:
                multiply(store, args.recorded, args.decisions)
            if not _count(store, "incidents"):
                _move_head(store)
                for i in range(args.recorded - 40, args.recorded, 10):
                    link_incident(store, INCIDENT, f"{i:08d}-bench", linked_by="bench", note="x")
            print(f"store ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        total = args.recorded
        server, thread, base = serve(url, Path(tmp))
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                client.get("/ui/login")
                csrf = client.cookies.get("commander_csrf", path="/ui/login")
                client.post("/ui/login", data={"token": TOKEN, "csrf": csrf})
                asked = pages(total)
                asked["list, page 200 (cursor)"] = deep_page(client, 200)
                print(
                    f"\n{'page':30} {'median':>9} {'worst':>9} {'CPU':>9} {'bytes':>8} "
                    f"{'vs 200 ms':>9}"
                )
                for label, path in asked.items():
                    spent, cpu, size = [], [], 0
                    # a backtest replays the window's 31 decisions: once is enough to time it
                    for _ in range(1 if "backtest" in label else args.runs):
                        before = time.process_time()
                        answer = client.get(path)
                        cpu.append((time.process_time() - before) * 1000)
                        if answer.status_code != 200:
                            raise SystemExit(f"{label}: {answer.status_code} {answer.text[:200]}")
                        timing = answer.headers["server-timing"]
                        spent.append(float(timing.split("dur=")[1]))
                        size = len(answer.content)
                    median = statistics.median(spent)
                    print(
                        f"{label:30} {median:7.1f}ms {max(spent):7.1f}ms "
                        f"{statistics.median(cpu):7.1f}ms {size:8,} "
                        f"{BUDGET_MS / median:8.1f}x"
                    )
        finally:
            server.should_exit = True
            thread.join(timeout=30)


if __name__ == "__main__":
    main()
