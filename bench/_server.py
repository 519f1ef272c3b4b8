"""Shared by the benchmarks: run `lrs serve` on a fresh database, watch its memory."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import platform
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
LRS = str(ROOT / ".venv" / "bin" / "lrs")
POSTGRES_ADMIN_URL = os.environ.get(
    "LRS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


# The server counts as started once its processes use under a tenth of a core for two samples.
QUIET_SAMPLE_SECONDS = 0.25
QUIET_CPU_SHARE = 0.1
QUIET_WAIT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> str:
    return (
        f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()})"
    )


def today() -> str:
    return f"{datetime.now(tz=UTC):%Y-%m-%d}"


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(engine: str, directory: Path) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL for the LRS, plain URL for raw drivers) of an empty database."""
    if engine == "sqlite":
        path = directory / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
        yield f"sqlite+aiosqlite:///{path}", str(path)
        return
    name = f"lrs_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield base.replace("postgresql://", "postgresql+asyncpg://") + f"/{name}", f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Server:
    url: str
    auth: tuple[str, str]
    process: subprocess.Popen[bytes]
    peak_rss_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def watch_memory(self) -> None:
        """Sample the resident memory of every process of the server (workers included)."""

        def sample() -> None:
            while not self._stop.is_set():
                self.peak_rss_mb = max(self.peak_rss_mb, _largest_rss_mb(self.process.pid))
                time.sleep(0.2)

        threading.Thread(target=sample, daemon=True).start()


def server_pids(pid: int) -> list[int]:
    """The server's process and its children (uvicorn workers, the writer process), those of
    every thread: a writer restarted after it died is started from a thread."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    children: list[int] = []
    for task in tasks:
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # a thread that ended meanwhile
            continue
    return [pid, *children]


def server_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the server's processes (those still running)."""
    return sum(seconds for one in server_pids(pid) if (seconds := _cpu_seconds(one)) is not None)


def _cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by one process, or None once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_and_name(pid: int) -> tuple[float, str] | None:
    seconds = _cpu_seconds(pid)
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return None if seconds is None else (seconds, name)


def cpu_by_process(pid: int) -> dict[int, tuple[float, str]]:
    """CPU seconds so far, and name (`comm`: lrs, lrs-writer, lrs-background...), of the
    server's processes and of every PostgreSQL process of this machine (its backends
    included), by pid: two snapshots show which process a run's CPU went to."""
    pids = set(server_pids(pid))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.add(int(entry.name))
    found = {one: _cpu_and_name(one) for one in pids}
    return {one: value for one, value in found.items() if value is not None}


def cpu_spent_by_name(
    before: dict[int, tuple[float, str]], after: dict[int, tuple[float, str]]
) -> dict[str, float]:
    """CPU seconds spent between two `cpu_by_process` snapshots, summed by process name (a
    process started meanwhile counts from zero; one that ended meanwhile is not seen)."""
    spent: dict[str, float] = {}
    for one, (seconds, name) in after.items():
        earlier = before.get(one, (0.0, name))[0]
        spent[name] = spent.get(name, 0.0) + seconds - earlier
    return spent


def _largest_rss_mb(pid: int) -> float:
    """The largest RSS among the process and its children, in MB (per process, as the goal says)."""
    largest = 0.0
    for one in server_pids(pid):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return largest


@contextmanager
def running_server(
    database_url: str,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`lrs serve` on a free port with a fresh `bench` credential; `env` adds to its
    environment."""
    env = {
        **os.environ,
        "LRS_DATABASE_URL": database_url,
        "LRS_LOG_LEVEL": "warning",
        **(env or {}),
    }
    key, secret = "bench", uuid.uuid4().hex
    subprocess.run(
        [LRS, "credentials", "add", "bench", "--key", key, "--secret", secret],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    command = [LRS, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}/xapi", (key, secret), process)
    try:
        _wait_ready(server)
        _wait_quiet(server)
        server.watch_memory()
        yield server
    finally:
        server._stop.set()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("the LRS exited during start-up")
        try:
            httpx.get(server.url + "/about", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the LRS did not start")


def _wait_quiet(server: Server) -> None:
    """Wait until the server's processes have finished starting: its helpers start beside the
    workers (the plugins' background process loads the catalogue...) and would otherwise
    spend the first second of a measured run doing so."""
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    quiet_in_a_row = 0
    spent = server_cpu_seconds(server.process.pid)
    while quiet_in_a_row < 2 and time.monotonic() < deadline:
        time.sleep(QUIET_SAMPLE_SECONDS)
        now = server_cpu_seconds(server.process.pid)
        quiet = now - spent < QUIET_CPU_SHARE * QUIET_SAMPLE_SECONDS
        quiet_in_a_row = quiet_in_a_row + 1 if quiet else 0
        spent = now


async def post_bodies(
    statements_url: str, auth: tuple[str, str], bodies: list[bytes], clients: int
) -> None:
    """POST every body from `clients` concurrent keep-alive connections; any answer but 200
    aborts.

    A few lines of HTTP/1.1 on asyncio streams rather than a client library: the load
    generator shares the LRS's two cores, and what it spends is taken from the LRS's figures
    (httpx spent ~24 us of CPU a statement posting 100-statement batches, aiohttp ~7, this
    ~1: bench/RESULTS.md).
    """
    url = urlsplit(statements_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Basic {token}\r\nX-Experience-API-Version: 1.0.3\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    pending = list(reversed(bodies))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                body = pending.pop()
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, answer = await _read_response(reader)
                if status != 200:
                    raise RuntimeError(f"POST failed: {status} {answer[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response that gives its Content-Length."""
    header = await reader.readuntil(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    status = int(lines[0].split()[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return status, await reader.readexactly(int(value))
    raise RuntimeError(f"an answer without Content-Length: {header[:200]!r}")


def latency_table(timings: dict[str, list[float]], what: str = "request") -> list[str]:
    """Markdown rows of count, p50 and p95 (milliseconds) for each kind of request."""
    rows = [f"| {what} | count | p50 ms | p95 ms |", "| --- | --- | --- | --- |"]
    for name, values in timings.items():
        ordered = sorted(values)
        p50 = ordered[len(ordered) // 2]
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        rows.append(f"| {name} | {len(values):,} | {p50:.1f} | {p95:.1f} |")
    return rows


def append_results(title: str, table: list[str]) -> None:
    """Append one run, headed by what was measured, when and on which machine, to RESULTS.md."""
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    block = f"\n### {title} ({today()}, {machine()})\n\n" + "\n".join(table) + "\n"
    results.write_text(text.rstrip("\n") + "\n" + block)
