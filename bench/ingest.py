"""Ingestion benchmark: batch POSTs of 100 statements from 8 concurrent clients, beside raw SQLite.

Usage: .venv/bin/python bench/ingest.py [--statements 40000] [--clients 8] [--batch 100] [--write-results]
Starts `lrs serve` on a fresh SQLite file, measures statements/s, then inserts the same rows into a
raw SQLite table (id key + 4 lookup indexes, one transaction per batch, 8 writer threads, WAL,
synchronous=NORMAL as the LRS uses) and reports both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _statements import moodle_statement  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LRS = str(ROOT / ".venv" / "bin" / "lrs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_batches(total: int, batch: int) -> list[list[dict[str, object]]]:
    rng = random.Random(42)
    statements = [moodle_statement(rng) for _ in range(total)]
    return [statements[i : i + batch] for i in range(0, total, batch)]


async def post_all(url: str, auth: tuple[str, str], batches: list[list[dict[str, object]]], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(orjson.dumps(batch))
    headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}

    async def worker() -> None:
        async with httpx.AsyncClient(auth=auth, headers=headers, timeout=120) as http:
            while not queue.empty():
                body = queue.get_nowait()
                response = await http.post(url + "/statements", content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"POST failed: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started


def start_server(database: Path, port: int) -> tuple[subprocess.Popen[bytes], tuple[str, str]]:
    env = {**os.environ, "LRS_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "LRS_LOG_LEVEL": "warning"}
    key, secret = "bench", uuid.uuid4().hex
    subprocess.run([LRS, "credentials", "add", "bench", "--key", key, "--secret", secret],
                   env=env, check=True, capture_output=True)
    server = subprocess.Popen([LRS, "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/xapi/about", timeout=1)
            return server, (key, secret)
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


RAW_SCHEMA = """
CREATE TABLE statement (id TEXT PRIMARY KEY, actor TEXT, verb TEXT, activity TEXT,
                        registration TEXT, stored INTEGER, body TEXT);
CREATE INDEX ix_actor ON statement(actor);
CREATE INDEX ix_verb ON statement(verb);
CREATE INDEX ix_activity ON statement(activity);
CREATE INDEX ix_registration ON statement(registration);
"""


def raw_sqlite(database: Path, batches: list[list[dict[str, object]]], writers: int) -> float:
    setup = sqlite3.connect(database)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.executescript(RAW_SCHEMA)
    setup.close()
    pending = list(batches)
    lock = threading.Lock()

    def writer() -> None:
        conn = sqlite3.connect(database, timeout=60, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        while True:
            with lock:
                if not pending:
                    break
                batch = pending.pop()
            rows = [
                (str(uuid.uuid4()), orjson.dumps(s["actor"]).decode(), s["verb"]["id"],  # type: ignore[index]
                 s["object"]["id"], s["context"]["registration"], time.time_ns(),  # type: ignore[index]
                 orjson.dumps(s).decode())
                for s in batch
            ]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO statement VALUES (?,?,?,?,?,?,?)", rows)
            conn.execute("COMMIT")
        conn.close()

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=40_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--write-results", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    batches = make_batches(args.statements, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server, auth = start_server(Path(tmp) / "lrs.sqlite3", port)
        try:
            lrs_seconds = asyncio.run(post_all(f"http://127.0.0.1:{port}/xapi", auth, batches, args.clients))
        finally:
            server.terminate()
            server.wait(timeout=30)
        raw_seconds = raw_sqlite(Path(tmp) / "raw.sqlite3", batches, args.clients)
    lrs_rate = args.statements / lrs_seconds
    raw_rate = args.statements / raw_seconds
    report = (
        f"| {datetime.now(tz=UTC):%Y-%m-%d} | {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}) | {args.statements} | "
        f"{args.clients}x{args.batch} | {lrs_rate:,.0f} | {raw_rate:,.0f} | {lrs_rate / raw_rate:.0%} |"
    )
    print("date | machine | statements | clients x batch | LRS stmts/s | raw SQLite rows/s | ratio")
    print(report)
    if args.write_results:
        with open(ROOT / "bench" / "RESULTS.md", "a") as results:
            results.write(report + "\n")


if __name__ == "__main__":
    main()
