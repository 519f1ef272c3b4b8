"""Ingestion benchmark: statements posted by concurrent clients, beside the raw database.

    .venv/bin/python bench/ingest.py [--engine sqlite|postgres] [--statements 40000]
        [--clients 8] [--batch 100] [--workers 1] [--write-results]

`--batch 1` posts single statements (one object per POST). Two raw figures, each from as many
concurrent writers as clients, one transaction per batch, with the LRS's SQLite settings
(WAL, synchronous=NORMAL, its checkpoint interval):

- raw (id + 4 indexes), issue 2's yardstick: each statement as one row of a table with an id
  key and 4 lookup indexes (actor, verb, activity, registration);
- raw (same rows), issue 6's: the rows the LRS itself writes for each statement (its statement
  row and its index rows, in the LRS's own schema, made by its migrations), computed before the
  clock starts and inserted the fastest way each driver offers; run before and after the LRS,
  the mean of the two times is the figure.
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
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _server import (
    append_results,
    cpu_by_process,
    cpu_spent_by_name,
    fresh_database,
    post_bodies,
    running_server,
)
from _statements import moodle_statement

from lrs.store.dialects import SQLITE_WAL_AUTOCHECKPOINT_PAGES
from lrs.store.pg_copy import (
    INDEX_COLUMNS,
    STATEMENT_COLUMNS,
    index_row_heads,
    index_rows_payload,
    statement_rows_payload,
)
from lrs.store.sql import SqlStore
from lrs.xapi.index import index_keys
from lrs.xapi.prepare import Authority, authority_agent, prepare_statement

Batch = list[dict[str, Any]]


def make_batches(total: int, batch: int) -> list[Batch]:
    rng = random.Random(42)
    statements = [moodle_statement(rng) for _ in range(total)]
    return [statements[i : i + batch] for i in range(0, total, batch)]


def request_bodies(batches: list[Batch]) -> list[bytes]:
    """Each batch as a POST body: a JSON array, or one statement where batches hold one."""
    single = all(len(b) == 1 for b in batches)
    return [orjson.dumps(b[0] if single else b) for b in batches]


async def post_all(url: str, auth: tuple[str, str], bodies: list[bytes], clients: int) -> float:
    """Seconds to post every body with `clients` concurrent connections; any non-200 aborts."""
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


# One statement as the LRS stores it: (id, body, [(kind, value), ...]).
LrsRow = tuple[str, str, list[tuple[str, str]]]


def lrs_rows(batches: list[Batch]) -> list[list[LrsRow]]:
    """The rows the LRS writes for each statement (not timed: no xAPI work in the raw run)."""
    authority = Authority("bench", authority_agent("bench", "bench", "https://lrs.example.org"))
    result: list[list[LrsRow]] = []
    for batch in batches:
        rows: list[LrsRow] = []
        for sent in batch:
            prepared = prepare_statement(sent, authority, "1.0.3")
            keys = sorted(index_keys(prepared, "bench"))
            rows.append((str(prepared["id"]), orjson.dumps(prepared).decode(), keys))
        result.append(rows)
    return result


async def create_lrs_schema(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        await store.create_schema()
    finally:
        await store.close()


def raw_sqlite_same_rows(
    lrs_url: str, path: str, batches: list[list[LrsRow]], writers: int
) -> float:
    asyncio.run(create_lrs_schema(lrs_url))

    def insert(conn: sqlite3.Connection, batch: list[LrsRow]) -> None:
        stored = time.time_ns() // 1_000_000
        values = ",".join(["(?,?,0,?)"] * len(batch))
        params = [p for statement_id, body, _ in batch for p in (statement_id, stored, body)]
        inserted = conn.execute(
            f"INSERT INTO statement (id, stored_ms, voided, body) VALUES {values} "
            "RETURNING seq, id",
            params,
        ).fetchall()
        seq_of = {statement_id: seq for seq, statement_id in inserted}
        conn.executemany(
            "INSERT INTO statement_index (kind, value, seq) VALUES (?,?,?)",
            [(k, v, seq_of[i]) for i, _, keys in batch for k, v in keys],
        )

    return _sqlite_writers(path, batches, writers, insert)


async def raw_postgres_same_rows(
    lrs_url: str, url: str, batches: list[list[LrsRow]], writers: int
) -> float:
    await create_lrs_schema(lrs_url)
    # Both tables' rows encoded for binary COPY before the clock starts, each statement's seq
    # given, as the LRS's writer COPYs them (lrs.store.pg_copy) with the seqs it takes.
    stored_ms = time.time_ns() // 1_000_000
    payloads: list[tuple[bytes, bytes]] = []
    seq = 0
    for batch in batches:
        seqs = range(seq + 1, seq + len(batch) + 1)
        seq += len(batch)
        statement_rows = statement_rows_payload(
            (i, b.encode(), n, stored_ms, False) for n, (i, b, _) in zip(seqs, batch, strict=True)
        )
        index_rows = index_rows_payload(
            (n, index_row_heads(keys)) for n, (_, _, keys) in zip(seqs, batch, strict=True)
        )
        payloads.append((statement_rows, index_rows))

    async def copy(conn: Any, table: str, columns: tuple[str, ...], payload: bytes) -> None:
        async def source() -> AsyncIterator[bytes]:
            yield payload

        await conn.copy_to_table(table, source=source(), columns=list(columns), format="binary")

    async def insert(conn: Any, batch: tuple[bytes, bytes]) -> None:
        await copy(conn, "statement", STATEMENT_COLUMNS, batch[0])
        await copy(conn, "statement_index", INDEX_COLUMNS, batch[1])

    return await _postgres_writers(url, payloads, writers, insert)


async def _postgres_writers(
    url: str,
    batches: list[Any],
    writers: int,
    insert: Callable[[Any, Any], Awaitable[None]],
    prepare: Callable[[Any], Any] = lambda batch: batch,
) -> float:
    """Seconds for `writers` connections to insert every batch, one transaction each;
    `prepare` makes a batch's rows before its transaction begins."""
    import asyncpg

    queue: asyncio.Queue[Any] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def writer() -> None:
        conn = await asyncpg.connect(url)
        try:
            while not queue.empty():
                rows = prepare(queue.get_nowait())
                async with conn.transaction():
                    await insert(conn, rows)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return time.perf_counter() - started


def _sqlite_writers(
    path: str,
    batches: list[Any],
    writers: int,
    insert: Callable[[sqlite3.Connection, Any], None],
    prepare: Callable[[Any], Any] = lambda batch: batch,
) -> float:
    """Seconds for `writers` threads to insert every batch, one transaction each, with the
    LRS's SQLite settings; `prepare` makes a batch's rows before its transaction begins."""
    pending = list(batches)
    lock = threading.Lock()

    def writer() -> None:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        while True:
            with lock:
                if not pending:
                    break
                batch = pending.pop()
            rows = prepare(batch)
            conn.execute("BEGIN IMMEDIATE")
            insert(conn, rows)
            conn.execute("COMMIT")
        conn.close()

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def raw_sqlite(path: str, batches: list[Batch], writers: int) -> float:
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    for sql in [RAW_TABLE, *RAW_INDEXES]:
        setup.execute(sql)
    setup.close()

    def insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        conn.executemany("INSERT INTO statement VALUES (?,?,?,?,?,?,?)", rows)

    return _sqlite_writers(path, batches, writers, insert, raw_rows)


async def raw_postgres(url: str, batches: list[Batch], writers: int) -> float:
    import asyncpg

    setup = await asyncpg.connect(url)
    for sql in [RAW_TABLE, *RAW_INDEXES]:
        await setup.execute(sql)
    await setup.close()

    async def insert(conn: Any, rows: list[tuple[Any, ...]]) -> None:
        await conn.executemany("INSERT INTO statement VALUES ($1,$2,$3,$4,$5,$6,$7)", rows)

    return await _postgres_writers(url, batches, writers, insert, raw_rows)


def raw_same_rows_seconds(
    engine: str, directory: Path, same_rows: list[list[LrsRow]], writers: int
) -> float:
    """Seconds for the raw database to insert the LRS's own rows, on a fresh database."""
    with fresh_database(engine, directory) as (lrs_url, raw_url):
        if engine == "sqlite":
            return raw_sqlite_same_rows(lrs_url, raw_url, same_rows, writers)
        return asyncio.run(raw_postgres_same_rows(lrs_url, raw_url, same_rows, writers))


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
    same_rows = lrs_rows(batches)
    with tempfile.TemporaryDirectory() as tmp:
        # The raw same-rows run before and after the LRS's: the VM's speed drifts by tens of
        # percent within minutes, and their mean sits where the LRS ran.
        same_before = raw_same_rows_seconds(args.engine, Path(tmp), same_rows, args.clients)
        with (
            fresh_database(args.engine, Path(tmp)) as (lrs_url, _),
            running_server(lrs_url, args.workers) as server,
        ):
            bodies = request_bodies(batches)
            cpu_before, client_before = cpu_by_process(server.process.pid), time.process_time()
            lrs_seconds = asyncio.run(post_all(server.url, server.auth, bodies, args.clients))
            cpu_spent = cpu_spent_by_name(cpu_before, cpu_by_process(server.process.pid))
            cpu_spent["this client"] = time.process_time() - client_before
            peak_rss = server.peak_rss_mb
        same_after = raw_same_rows_seconds(args.engine, Path(tmp), same_rows, args.clients)
        with fresh_database(args.engine, Path(tmp)) as (_, raw_url):
            if args.engine == "sqlite":
                raw_seconds = raw_sqlite(raw_url, batches, args.clients)
            else:
                raw_seconds = asyncio.run(raw_postgres(raw_url, batches, args.clients))
    same_seconds = (same_before + same_after) / 2
    count = args.statements
    lrs_rate, raw_rate, same_rate = count / lrs_seconds, count / raw_seconds, count / same_seconds
    index_rows = sum(len(keys) for batch in same_rows for _, _, keys in batch) / count
    table = [
        "| engine | statements | clients x batch | LRS workers | LRS stmts/s "
        "| raw (id + 4 indexes) rows/s | LRS/raw | raw (same rows) stmts/s | LRS/raw same rows "
        "| peak RSS (MB, per process) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {args.engine} | {count} | {args.clients} x {args.batch} | {args.workers} | "
        f"{lrs_rate:,.0f} | {raw_rate:,.0f} | {lrs_rate / raw_rate:.0%} | {same_rate:,.0f} | "
        f"{lrs_rate / same_rate:.0%} | {peak_rss:.0f} |",
    ]
    print("\n".join(table))
    print(f"(same rows: one statement row and {index_rows:.1f} index rows a statement)")
    before, after = count / same_before, count / same_after
    print(f"(raw same rows before and after the LRS's run: {before:,.0f} and {after:,.0f}/s)")
    print(cpu_line(cpu_spent, count))
    if args.write_results:
        append_results("Ingestion", [*table, "", cpu_line(cpu_spent, count)])


def cpu_line(spent: dict[str, float], count: int) -> str:
    """Where the LRS run's CPU went, in microseconds a statement, by process name: on two
    cores, whichever process one write after another waits on sets the pace."""
    parts = [
        f"{name} {seconds / count * 1e6:.1f}"
        for name, seconds in spent.items()
        if seconds / count >= 0.05e-6  # helpers such as multiprocessing's resource tracker
    ]
    total = sum(spent.values()) / count * 1e6
    return f"(CPU a statement during the LRS run, us: {', '.join(sorted(parts))}; all {total:.1f})"


if __name__ == "__main__":
    main()
