"""Ingestion benchmark: statements posted by concurrent clients, beside the raw database.

    .venv/bin/python bench/ingest.py [--engine sqlite|postgres] [--statements 40000]
        [--clients 8] [--batch 100] [--workers 1] [--write-results]

`--batch 1` posts single statements (one object per POST). The raw figure inserts the same
rows into one table with an id key and 4 lookup indexes, one transaction per batch, from as
many concurrent writers, with the durability settings the LRS uses.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _server import append_results, fresh_database, post_bodies, running_server
from _statements import moodle_statement

Batch = list[dict[str, Any]]


def make_batches(total: int, batch: int) -> list[Batch]:
    rng = random.Random(42)
    statements = [moodle_statement(rng) for _ in range(total)]
    return [statements[i : i + batch] for i in range(0, total, batch)]


async def post_all(url: str, auth: tuple[str, str], batches: list[Batch], clients: int) -> float:
    """Seconds to post every batch with `clients` concurrent connections; any non-200 aborts."""
    single = all(len(b) == 1 for b in batches)
    bodies = [orjson.dumps(b[0] if single else b) for b in batches]
    started = time.perf_counter()
    await post_bodies(url + "/statements", auth, bodies, clients)
    return time.perf_counter() - started


def raw_rows(batch: Batch) -> list[tuple[Any, ...]]:
    return [
        (
            str(uuid.uuid4()),
            orjson.dumps(s["actor"]).decode(),
            s["verb"]["id"],
            s["object"]["id"],
            s["context"]["registration"],
            time.time_ns(),
            orjson.dumps(s).decode(),
        )
        for s in batch
    ]


RAW_TABLE = """CREATE TABLE statement (id TEXT PRIMARY KEY, actor TEXT, verb TEXT, activity TEXT,
                                       registration TEXT, stored BIGINT, body TEXT)"""
RAW_INDEXES = [
    "CREATE INDEX ix_actor ON statement(actor)",
    "CREATE INDEX ix_verb ON statement(verb)",
    "CREATE INDEX ix_activity ON statement(activity)",
    "CREATE INDEX ix_registration ON statement(registration)",
]


def raw_sqlite(path: str, batches: list[Batch], writers: int) -> float:
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    for sql in [RAW_TABLE, *RAW_INDEXES]:
        setup.execute(sql)
    setup.close()
    pending = list(batches)
    lock = threading.Lock()

    def writer() -> None:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        while True:
            with lock:
                if not pending:
                    break
                batch = pending.pop()
            rows = raw_rows(batch)
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


async def raw_postgres(url: str, batches: list[Batch], writers: int) -> float:
    import asyncpg

    setup = await asyncpg.connect(url)
    for sql in [RAW_TABLE, *RAW_INDEXES]:
        await setup.execute(sql)
    await setup.close()
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def writer() -> None:
        conn = await asyncpg.connect(url)
        try:
            while not queue.empty():
                rows = raw_rows(queue.get_nowait())
                async with conn.transaction():
                    await conn.executemany(
                        "INSERT INTO statement VALUES ($1,$2,$3,$4,$5,$6,$7)", rows
                    )
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--statements", type=int, default=40_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="LRS worker processes")
    parser.add_argument("--write-results", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    batches = make_batches(args.statements, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        with (
            fresh_database(args.engine, Path(tmp)) as (lrs_url, _),
            running_server(lrs_url, args.workers) as server,
        ):
            lrs_seconds = asyncio.run(post_all(server.url, server.auth, batches, args.clients))
            peak_rss = server.peak_rss_mb
        with fresh_database(args.engine, Path(tmp)) as (_, raw_url):
            if args.engine == "sqlite":
                raw_seconds = raw_sqlite(raw_url, batches, args.clients)
            else:
                raw_seconds = asyncio.run(raw_postgres(raw_url, batches, args.clients))
    lrs_rate, raw_rate = args.statements / lrs_seconds, args.statements / raw_seconds
    table = [
        "| engine | statements | clients x batch | LRS workers | LRS stmts/s | raw rows/s "
        "| LRS/raw | peak RSS (MB, per process) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {args.engine} | {args.statements} | {args.clients} x {args.batch} | {args.workers} | "
        f"{lrs_rate:,.0f} | {raw_rate:,.0f} | {lrs_rate / raw_rate:.0%} | {peak_rss:.0f} |",
    ]
    print("\n".join(table))
    if args.write_results:
        append_results("Ingestion", table)


if __name__ == "__main__":
    main()
