"""Where SQLite and PostgreSQL differ: connection setup, locks, insert-or-ignore and upsert."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import asyncpg
from sqlalchemy import Column, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

SQLITE_BUSY_TIMEOUT_MS = 30000
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 16_000
WAL_SWITCH_ATTEMPTS = 20
# SQLite: plugins' tables live in a database file of their own, attached under this name, so
# their writers and the statements' writers each have a write lock (SqlStore.write).
PLUGINS_SCHEMA = "plugins"
PLUGINS_LOCK_TABLE = "plugins_write_turn"
# A table each SQLite file always has, by which a transaction takes that file's write lock
# alone (lock_one_file), for the statements' ("core") and plugins' writes.
SQLITE_LOCK_TABLES = {"core": "main.statement", "plugins": f"{PLUGINS_SCHEMA}.{PLUGINS_LOCK_TABLE}"}


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def plugins_path(database: str) -> str:
    """Where plugins' tables live beside an SQLite file: lrs.sqlite3 -> lrs.plugins.sqlite3."""
    root, extension = os.path.splitext(database)
    return f"{root}.plugins{extension or '.sqlite3'}"


def _switch_to_wal(cursor: Any, schema: str = "main") -> None:
    """PRAGMA journal_mode=WAL, tried again while another connection holds the lock.

    On a new database, processes that open it at the same moment all switch it: SQLite may
    refuse one at once ("database is locked") rather than wait, to avoid a deadlock.
    """
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute(f"PRAGMA {schema}.journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def configure_sqlite(engine: AsyncEngine, plugins_database: str | None) -> None:
    """WAL for concurrent readers; explicit BEGIN so writers can take the lock up front;
    `plugins_database` (a file) attached as PLUGINS_SCHEMA."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        # NORMAL in WAL mode loses nothing on a process crash (SIGKILL); only an OS crash can.
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A commit that finds the WAL past this many pages copies it into the database file
        # (two fsyncs) while every writer waits. At SQLite's default, 1,000 pages (4 MB), that
        # was most commits under load; at 64 MB, ingestion went from ~6,000 to ~7,100
        # statements/s (bench/RESULTS.md), for a WAL of up to ~70 MB on disk.
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if plugins_database is not None:
            _attach_plugins(cursor, plugins_database)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN, so they queue on busy_timeout instead of
        # failing when a deferred transaction tries to upgrade (several workers on one file).
        options = connection.get_execution_options()
        locked = options.get("sqlite_lock")
        if locked is None:
            connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")
            return
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql(lock_one_file(locked))


def lock_one_file(table: str) -> str:
    """SQL that takes the write lock of the file holding `table`, and only that one's: a write
    that changes nothing (BEGIN IMMEDIATE takes every attached file's). Run it first, before
    the transaction reads anything, so it queues on busy_timeout rather than fails."""
    return f"DELETE FROM {table} WHERE 0"


def _attach_plugins(cursor: Any, path: str) -> None:
    cursor.execute(f"ATTACH DATABASE ? AS {PLUGINS_SCHEMA}", (path,))
    _switch_to_wal(cursor, PLUGINS_SCHEMA)
    cursor.execute(f"PRAGMA {PLUGINS_SCHEMA}.synchronous=NORMAL")
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {PLUGINS_SCHEMA}.{PLUGINS_LOCK_TABLE} (n INTEGER)")


# PostgreSQL advisory lock keys ("LRS" and a number), held until the transaction ends.
SCHEMA_LOCK = 0x4C5253_01
WRITE_LOCK = 0x4C5253_02


def lock_schema(connection: Connection) -> None:
    """Serialise schema changes between processes (SQLite: the caller's BEGIN IMMEDIATE does)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


async def take_write_turn(conn: AsyncConnection) -> None:
    """PostgreSQL: one write transaction at a time, across processes, as SQLite's BEGIN IMMEDIATE.

    Then a statement's `seq` follows commit order, and its `stored` is taken inside the turn.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})


async def write_turn_taken(conn: AsyncConnection) -> bool:
    """Whether a write transaction, of any process, holds the write turn now (`conn` holds none)."""
    if conn.dialect.name == "postgresql":
        held = await conn.scalar(
            _PG_WRITE_LOCK_HELD, {"high": WRITE_LOCK >> 32, "low": WRITE_LOCK & 0xFFFFFFFF}
        )
        return bool(held)
    # SQLite: ask for the statements' write lock without waiting, and give it straight back.
    sqlite_conn = (await conn.get_raw_connection()).driver_connection
    assert sqlite_conn is not None
    await sqlite_conn.execute("PRAGMA busy_timeout=0")
    try:
        await sqlite_conn.execute("BEGIN")
        try:
            await sqlite_conn.execute(lock_one_file(SQLITE_LOCK_TABLES["core"]))
        except sqlite3.OperationalError:
            return True
        finally:
            await sqlite_conn.execute("ROLLBACK")
        return False
    finally:
        await sqlite_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


# A bigint advisory key shows in pg_locks as classid (high half) and objid (low half), objsubid 1.
_PG_WRITE_LOCK_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1)"
)


def insert_ignoring_duplicates(engine: AsyncEngine, table: Table) -> Insert:
    """INSERT that skips rows whose primary key already exists."""
    if is_sqlite(engine):
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def upsert(engine: AsyncEngine, table: Table, key: list[str], update: list[str]) -> Insert:
    """INSERT that replaces the `update` columns of a row whose `key` already exists."""
    if is_sqlite(engine):
        stmt = sqlite.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=key, set_={col: stmt.excluded[col] for col in update}
        )
    pg = postgresql.insert(table)
    return pg.on_conflict_do_update(
        index_elements=key, set_={col: pg.excluded[col] for col in update}
    )


def _unnest_insert(conn: AsyncConnection, table: Table, columns: list[str]) -> str:
    """PostgreSQL: INSERT of one row per position of the column arrays $1, $2, ..."""
    types = [table.c[name].type.compile(dialect=conn.dialect) for name in columns]
    arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=1))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


def _as_columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    return tuple(list(column) for column in zip(*rows, strict=True))


async def insert_tuples(
    conn: AsyncConnection,
    table: Table,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    update_on: list[str] | None = None,
) -> None:
    """Insert plain tuples straight through the driver: the hot path, no dict per row.

    SQLite: executemany of one prepared INSERT. PostgreSQL: COPY, in binary, which costs the
    server and the driver less than any INSERT (statements' index rows: ~10 us a statement
    less, bench/RESULTS.md); an upsert, one INSERT ... SELECT FROM unnest of a column array
    each, where executemany would have the server run the INSERT once per row.

    `update_on` names a unique key: a row whose key is stored already replaces the stored
    one's other columns (an upsert; the rows must not repeat a key).
    """
    if not rows:
        return
    names = ", ".join(columns)
    conflict = ""
    if update_on is not None:
        updated = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in update_on)
        conflict = f" ON CONFLICT ({', '.join(update_on)}) DO UPDATE SET {updated}"
    if is_sqlite(conn.engine):
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}){conflict}"
        await conn.exec_driver_sql(sql, rows)
        return
    if update_on is None:
        driver = await _driver(conn)
        with _copy_errors(table):
            await driver.copy_records_to_table(
                table.name, records=rows, columns=columns, schema_name=table.schema
            )
        return
    await conn.exec_driver_sql(
        f"{_unnest_insert(conn, table, columns)}{conflict}", _as_columns(rows)
    )


async def take_serial_values(conn: AsyncConnection, column: Column[Any], count: int) -> range:
    """PostgreSQL: the next `count` values of a serial column's sequence, in one step.

    Only for a transaction holding the write turn, and only for a column every insert of
    which holds it too (statements' `seq`): the range is contiguous because no other session
    draws from the sequence between its nextval and setval.
    """
    driver = await _driver(conn)
    sequence = f"pg_get_serial_sequence('{column.table.name}', '{column.name}')"
    last = await driver.fetchval(f"SELECT setval({sequence}, nextval({sequence}) + $1 - 1)", count)
    return range(last - count + 1, last + 1)


async def copy_binary(
    conn: AsyncConnection, table: Table, columns: Sequence[str], payload: bytes
) -> None:
    """PostgreSQL: COPY rows already encoded in the binary format (lrs.store.pg_copy)."""
    driver = await _driver(conn)

    async def source() -> AsyncIterator[bytes]:
        yield payload

    with _copy_errors(table):
        await driver.copy_to_table(
            table.name,
            source=source(),
            columns=list(columns),
            schema_name=table.schema,
            format="binary",
        )


async def _driver(conn: AsyncConnection) -> Any:
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


@contextmanager
def _copy_errors(table: Table) -> Iterator[None]:
    """A COPY's constraint violation raised as an INSERT through SQLAlchemy raises it (a
    duplicate key, say)."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(f"COPY {table.name}", None, error) from error
