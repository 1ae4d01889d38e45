"""The service under load, as a real `commander serve` subprocess: its URL, CPU and memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from orchestrator.service.auth import hash_token

TOKEN = "cmdr_load-test-token"  # noqa: S105 - a loopback-only test token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """The service under load: its URL and the processes doing its work."""

    url: str
    proc: subprocess.Popen[str]

    def pids(self) -> list[int]:
        """The serving process, and its workers when there are several."""
        children = [
            int(p.parent.name)
            for p in Path("/proc").glob("[0-9]*/stat")
            if _ppid(p) == self.proc.pid
        ]
        return [self.proc.pid, *children]

    def cpu_seconds(self) -> float:
        """User and system CPU of the serving processes so far."""
        total = 0
        for pid in self.pids():
            fields = _stat(Path(f"/proc/{pid}/stat"))
            if fields:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def quiesce(self, timeout: float = 180) -> None:
        """Wait until the serving processes are idle: every worker has loaded its policy.

        Ready answers as soon as one worker is up; the others may still be
        loading, and that CPU is start-up, not reviews.
        """
        deadline = time.monotonic() + timeout
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.cpu_seconds()
            if now - last < 0.05:
                return
            last = now

    def rss_mib(self) -> list[float]:
        """Resident memory of each serving process, MiB."""
        found = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kib = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
            found.append(kib / 1024)
        return found


def _stat(path: Path) -> list[str]:
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _ppid(path: Path) -> int:
    fields = _stat(path)
    return int(fields[1]) if fields else -1


@contextmanager
def service(db: str, folder: Path, extra: list[str]) -> Iterator[Server]:
    tokens = folder / "tokens.yaml"
    entry = {"name": "load", "roles": ["ci"], "token_sha256": hash_token(TOKEN)}
    tokens.write_text(yaml.safe_dump({"principals": [entry]}), encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = ["commander", "serve", "--port", str(port), "--tokens", str(tokens), "--db", db]
    command += extra
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                sys.exit(f"service did not start: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("service did not become ready in 240 s")
            time.sleep(0.1)
        yield Server(url, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
