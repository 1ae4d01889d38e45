"""A loopback fake of a platform's API (GitHub, HCP Terraform): a real HTTP server in a thread.

It records every request (method, path, headers, JSON body) and answers
from a table the test sets: a status and a body per method and path, 201
with `{}` otherwise. The service under test reaches it through its
configurable base URL, across a real socket, as it would reach the platform.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakePlatform:
    """The fake's address, what it received, and how it answers."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    # (method, path) -> (status, body bytes, extra headers)
    answers: dict[tuple[str, str], tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path: str, status: int, body: Any = None, **headers: str) -> None:
        """Answer `method path` with `status`, `body` (JSON unless bytes), headers, from now on."""
        raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        self.answers[(method, path)] = (status, raw, headers)

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests received so far, optionally only those to one method and path."""
        with self.lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and (path is None or s.path == path)
            ]

    def wait_for(self, method: str, path: str, count: int = 1, timeout: float = 20) -> list[Seen]:
        """Wait until `count` requests to `method path` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests(method, path)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} × {method} {path} never arrived: {self.requests()}")


@contextmanager
def fake_platform() -> Iterator[FakePlatform]:
    """Run a fake platform API on a free loopback port until the block ends."""
    holder: list[FakePlatform] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            fake = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = json.loads(raw) if raw else None
            with fake.lock:
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            status, answer, extra = fake.answers.get((self.command, self.path), (201, b"{}", {}))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PATCH = _handle

        def log_message(self, *_: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(FakePlatform(url=f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def github_signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def run_task_signature(key: str, body: bytes) -> str:
    """The X-TFC-Task-Signature HCP Terraform sends for `body`."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
