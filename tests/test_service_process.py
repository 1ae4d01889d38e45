"""A real `commander serve` process over real sockets: bodies refused unread, SIGHUP reloads.

An attacker with no token streams 500 MB at every route that takes a body;
the service answers 401 from the headers, closes the connection and its
resident memory barely moves. A caller with a token is held to the size
limit (64 MiB unless `--max-body` says otherwise) from the declared length,
or by counting the stream when no length is declared. SIGHUP makes the
process reload its tokens file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from orchestrator.service.app import build_app
from orchestrator.service.auth import hash_token
from tests.service_support import IAM_TOPOLOGY, token_of, write_tokens

MB = 1 << 20
ATTACK_BYTES = 500 * MB
# Growth of the server's resident memory the attacks may cause, in all.
RSS_BUDGET = 50 * MB
# The routes that take a body, each with the principal allowed to call it.
BODY_ROUTES = {
    "/v1/escalations/abc123/approve": "alice",
    "/v1/escalations/abc123/deny": "alice",
    "/v1/freezes": "root",
    "/v1/reviews?actor=x": "ci-bot",
    "/v1/guard": "ci-bot",
}


@dataclass
class Server:
    """A `commander serve` process on a loopback port."""

    port: int
    pid: int
    tokens: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        """The process's resident memory in bytes (VmRSS)."""
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _commander() -> list[str]:
    script = Path(sys.executable).parent / "commander"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator"]


def _start(folder: Path, *extra: str) -> Iterator[Server]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    env["COMMANDER_DATABASE_URL"] = f"sqlite:///{folder / 'audit.db'}"
    command = [*_commander(), "serve", "--port", str(port), "--topology", str(IAM_TOPOLOGY)]
    tokens = write_tokens(folder / "tokens.yaml")
    command += ["--tokens", str(tokens), *extra]
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    server = Server(port=port, pid=proc.pid, tokens=tokens)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start: {log.read_text('utf-8')}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module (it takes seconds to start), with an 8 MiB limit."""
    yield from _start(tmp_path_factory.mktemp("serve"), "--max-body", str(8 * MB))


@dataclass
class Attack:
    """What one streamed body got: the status line's code and the bytes that left."""

    status: int
    sent: int


def stream(
    server: Server,
    target: str,
    *,
    who: str | None,
    length: int = ATTACK_BYTES,
    chunked: bool = False,
) -> Attack:
    """POST `length` bytes made on the fly, stopping when the server answers or hangs up."""
    head = [f"POST {target} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}")
    head.append("Content-Type: application/json")
    if who is not None:
        head.append(f"Authorization: Bearer {token_of(who)}")
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    answered = threading.Event()
    sent = 0
    piece = b"x" * MB  # one buffer sent over and over: the test holds no large body

    def send() -> None:
        nonlocal sent
        try:
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
            while sent < length and not answered.is_set():
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
        except OSError:
            pass  # the server hung up: what a refusal should do

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        with conn.makefile("rb") as answer:
            status_line = answer.readline()
    finally:
        answered.set()
        sender.join(timeout=60)
        conn.close()
    return Attack(status=int(status_line.split()[1]), sent=sent)


class PeakRss:
    """The server's largest resident memory while the block runs, sampled every 10 ms."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.before = server.rss()
        self.peak = self.before
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self.server.rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


def test_500_mb_without_a_token_is_refused_unread_on_every_body_route(server: Server) -> None:
    """Each route answers 401 from the headers; memory stays flat and /healthz keeps answering."""
    with PeakRss(server) as rss, ThreadPoolExecutor(8) as pool:
        attacks = [pool.submit(stream, server, target, who=None) for target in BODY_ROUTES]
        attacks += [
            pool.submit(stream, server, target, who=None, chunked=True) for target in BODY_ROUTES
        ]
        started = time.monotonic()
        health = httpx.get(f"{server.url}/healthz", timeout=5)
        health_seconds = time.monotonic() - started
        results = [attack.result() for attack in attacks]
    assert [r.status for r in results] == [401] * len(results)
    assert health.status_code == 200
    assert health_seconds < 2
    assert rss.growth < RSS_BUDGET, f"the server grew by {rss.growth / MB:.0f} MB"
    # what left the client is what the kernel's buffers took before the hang-up
    assert max(r.sent for r in results) < ATTACK_BYTES // 4
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("target", list(BODY_ROUTES))
def test_a_declared_length_over_the_limit_is_413_before_reading(
    server: Server, target: str
) -> None:
    """With a token, a Content-Length over the limit is refused from the header alone."""
    with PeakRss(server) as rss:
        attack = stream(server, target, who=BODY_ROUTES[target])
    assert attack.status == 413
    assert rss.growth < RSS_BUDGET


def test_an_undeclared_length_is_counted_and_cut_at_the_limit(server: Server) -> None:
    """Chunked: the server reads up to its limit (8 MiB here), then answers 413 and hangs up."""
    with PeakRss(server) as rss:
        attack = stream(server, "/v1/reviews?actor=x", who="ci-bot", chunked=True)
        small = stream(server, "/v1/escalations/abc123/approve", who="alice", chunked=True)
    assert (attack.status, small.status) == (413, 413)
    assert attack.sent < ATTACK_BYTES // 4
    assert rss.growth < RSS_BUDGET


def test_no_route_lets_fastapi_read_a_body_before_its_token_is_checked() -> None:
    """FastAPI reads a declared body before the route's dependencies: no route declares one."""
    routes = [r for r in build_app().routes if isinstance(r, APIRoute)]
    assert routes
    assert [r.path for r in routes if r.body_field is not None] == []


def test_sighup_reloads_the_tokens_file(server: Server) -> None:
    """An edit the modification time cannot show (same size, time put back) is read on SIGHUP."""

    def scrape() -> int:
        headers = {"Authorization": f"Bearer {token_of('scraper')}"}
        return httpx.get(f"{server.url}/metrics", headers=headers, timeout=30).status_code

    assert scrape() == 200
    before = os.stat(server.tokens)
    text = server.tokens.read_text(encoding="utf-8")
    revoked = text.replace(hash_token(token_of("scraper")), "0" * 64)
    assert revoked != text
    assert len(revoked) == len(text)
    server.tokens.write_text(revoked, encoding="utf-8")
    os.utime(server.tokens, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert scrape() == 200  # nothing says the file changed
    os.kill(server.pid, signal.SIGHUP)
    assert scrape() == 401
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
