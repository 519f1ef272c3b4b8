"""`lrs serve` as a child process on a free loopback port, for tests that kill or multiply it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lrs.config import Settings
from lrs.ops import credentials as credential_ops
from lrs.ops.context import LrsContext
from lrs.store.sql import SqlStore
from tests.conftest import Credential, make_credential

LRS = str(Path(sys.executable).with_name("lrs"))
HEADERS = {"X-Experience-API-Version": "1.0.3"}
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def prepare_database(database_url: str) -> Credential:
    """The schema and an all-scopes credential, made before any server starts.

    The secret is hashed at production cost: the server checks it without the tests' shortcut.
    """
    store = SqlStore(database_url)
    try:
        await store.create_schema()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(credential_ops, "hashlib", hashlib)
            ctx = LrsContext(store=store, settings=Settings(database_url=database_url))
            return await make_credential(ctx, ["all"])
    finally:
        await store.close()


@dataclass
class LrsProcess:
    """One `lrs serve` (with its workers, all in one process group) and where it listens."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            # To the supervisor only: it stops its workers (signalling them too slows it down).
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        # Workers outlive a killed supervisor; the group id is the supervisor's pid.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)


def start_lrs(database_url: str, log: Path, workers: int = 1) -> LrsProcess:
    """Start `lrs serve` and return once it answers; its output goes to `log`."""
    server = launch_lrs(database_url, log, workers)
    wait_until_ready(server)
    return server


def launch_lrs(database_url: str, log: Path, workers: int = 1) -> LrsProcess:
    """Start `lrs serve` without waiting for it (see `wait_until_ready`)."""
    port = free_port()
    env = {**os.environ, "LRS_DATABASE_URL": database_url, "LRS_LOG_LEVEL": "warning"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [LRS, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LrsProcess(process, f"http://127.0.0.1:{port}/xapi", log)


def wait_until_ready(server: LrsProcess) -> None:
    """Poll until the server answers (stopping it if it never does)."""
    deadline = time.monotonic() + START_SECONDS
    try:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"lrs serve exited: {server.log.read_text()[-2000:]}")
            try:
                if httpx.get(server.url + "/about", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"lrs serve did not answer within {START_SECONDS} s: {server.log.read_text()[-2000:]}"
        )
    except BaseException:
        server.stop()
        raise


def helper_pids(server_pid: int, name: str) -> list[int]:
    """The helper processes of `lrs serve` with this name (lrs.supervisor names them)."""
    return [p for p in _children(server_pid) if _comm(p) == name]


def _children(pid: int) -> list[int]:
    """Children of every thread of `pid` (`lrs serve` restarts its helpers from threads)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:  # ended meanwhile
        return ""


async def all_statements(http: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every statement a GET returns, following `more` to the end."""
    found: list[dict[str, Any]] = []
    response = await http.get(url + "/statements", params={"limit": "500", **params})
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["statements"])
        if not page["more"]:
            return found
        response = await http.get(url.removesuffix("/xapi") + page["more"])
