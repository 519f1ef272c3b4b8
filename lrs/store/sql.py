"""The SQL store: one engine, transactions for the ops layer, and the per-resource query groups."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lrs.store import dialects, migrate
from lrs.store.agents import AgentQueries
from lrs.store.credentials import CredentialQueries
from lrs.store.documents import DocumentQueries
from lrs.store.pg_copy import index_row_heads
from lrs.store.statements import StatementQueries, statement_t

# PostgreSQL ends a session idle this long inside a transaction (see _engine_options).
IDLE_IN_TRANSACTION_MS = 60_000

# Encodes a statement's (kind, value) index keys for its write (SqlStore.index_row_encoder).
IndexRowEncoder = Callable[[Iterable[tuple[str, str]]], list[bytes]]

# Which tables a write transaction writes (SqlStore.write).
WriteScope = Literal["all", "core", "plugins"]


@dataclass
class Transaction:
    """What an op can do inside one transaction, grouped by resource."""

    conn: AsyncConnection
    statements: StatementQueries
    credentials: CredentialQueries
    documents: DocumentQueries
    agents: AgentQueries


class ConnectionLost(Exception):
    """The database dropped the connection a write had (a restart, say): nothing of the write
    was committed, unless it was lost while committing. The pool has let go of its
    connections; the write may be tried again."""


class SqlStore:
    """The one storage implementation; SQLite and PostgreSQL differ only in `dialects`."""

    def __init__(self, database_url: str, pre_ping: bool = True) -> None:
        """`pre_ping=False`: a pooled PostgreSQL connection is not tested before each use
        (three round trips); one the database dropped fails its write with ConnectionLost,
        and the caller tries again. For the writer process, whose round trips pace every
        write."""
        self.url = database_url
        self.engine: AsyncEngine = create_async_engine(
            database_url, **_engine_options(database_url, pre_ping)
        )
        self.sqlite = dialects.is_sqlite(self.engine)
        # SQLite: plugins' tables in a file of their own (see `write`); in memory, one database.
        self.plugins_database = _sqlite_plugins_database(database_url)
        if self.sqlite:
            dialects.configure_sqlite(self.engine, self.plugins_database)
        # One writer at a time (see `write`): queue this process's writers here, holding no
        # connection, rather than on the database's lock.
        self._write_lock = asyncio.Lock()
        self._plugins_write_lock = asyncio.Lock()
        # Whether plugins' tables are in their own file (a database made before they moved
        # keeps them in the main one); known once a plugins-only write asks.
        self._plugins_apart: bool | None = None

    def index_row_encoder(self) -> IndexRowEncoder | None:
        """How a statement's index rows are encoded before its write, by whoever prepares it
        (PostgreSQL: pg_copy.index_row_heads), or None where they are not (SQLite)."""
        return None if self.sqlite else index_row_heads

    async def create_schema(self, revision: str = migrate.HEAD) -> tuple[str | None, str | None]:
        """Create or upgrade the schema: core migrations, then plugins' missing tables.

        Returns the (before, after) revisions (see `lrs.store.migrate`).
        """
        _ensure_sqlite_directory(self.url)
        return await migrate.upgrade_schema(self.engine, revision)

    async def close(self) -> None:
        await self.engine.dispose()

    def _transaction(self, conn: AsyncConnection) -> Transaction:
        return Transaction(
            conn=conn,
            statements=StatementQueries(conn, self.engine),
            credentials=CredentialQueries(conn, self.engine),
            documents=DocumentQueries(conn, self.engine),
            agents=AgentQueries(conn, self.engine),
        )

    @asynccontextmanager
    async def write(self, tables: WriteScope = "all") -> AsyncIterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Write transactions take turns, across processes too (SQLite's BEGIN IMMEDIATE, a
        PostgreSQL advisory lock). So statements get their `seq` in commit order: paging and
        the statement feed never pass a statement that commits later with a smaller `seq`.
        And a writer takes `stored` during its turn, which `consistent_through_ms` relies on.

        A transaction that writes only plugins' tables (`tables="plugins"`: derived state
        such as course progress) needs no turn among statements' writers: on PostgreSQL it
        takes no write turn, and on SQLite, which keeps plugins' tables in a file of their
        own, it takes that file's lock alone, as a transaction writing only the LRS's own
        tables (`"core"`) takes only the main file's. "all" takes both.
        """
        scope = await self._scope(tables)
        lock = self._plugins_write_lock if scope == "plugins" else self._write_lock
        async with lock, self.engine.connect() as conn:
            if self.sqlite and scope == "all":
                conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
            elif self.sqlite:
                conn = await conn.execution_options(sqlite_lock=dialects.SQLITE_LOCK_TABLES[scope])
            try:
                async with conn.begin():
                    if scope != "plugins":
                        await dialects.take_write_turn(conn)
                    yield self._transaction(conn)
            except DBAPIError as error:
                if error.connection_invalidated:
                    raise ConnectionLost(str(error.orig)) from error
                raise

    async def _scope(self, tables: WriteScope) -> WriteScope:
        """What a write locks. SQLite: one file only where plugins' tables have their own (a
        database made before they had, or one in memory, keeps them in the main one)."""
        if not self.sqlite or tables == "all":
            return tables
        if self.plugins_database is None:
            return "all"
        if tables == "plugins" and self._plugins_apart is None:
            async with self.engine.connect() as conn:
                self._plugins_apart = not await conn.run_sync(migrate.plugin_tables_in_main)
        return tables if tables == "core" or self._plugins_apart else "all"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """One read transaction: a consistent snapshot."""
        async with self.engine.connect() as conn, conn.begin():
            yield self._transaction(conn)

    async def consistent_through_ms(self, local_ms: int) -> int:
        """An instant before which every statement stored, or being stored, is visible (2.1.3).

        `local_ms` is this process's answer, taken before this call: its writes in flight, or
        now. Another process's write shows as the write turn being taken; its `stored`, taken
        in its turn, is no older than the newest committed one, which then bounds the answer
        (with none committed yet, only the epoch does).
        """
        async with self.engine.connect() as conn:
            # This process writing needs no asking (nor does it let SQLite's probe get in its way).
            if not self._write_lock.locked() and not await dialects.write_turn_taken(conn):
                return local_ms
            # A fresh snapshot, taken after the check: it has every commit made before it.
            newest = await conn.scalar(select(func.max(statement_t.c.stored_ms)))
        # None committed yet: the write in its turn may have taken any `stored`, even one
        # before `local_ms`, and nothing bounds it but the epoch.
        return 0 if newest is None else min(local_ms, int(newest) - 1)


def _engine_options(database_url: str, pre_ping: bool) -> dict[str, object]:
    if make_url(database_url).get_backend_name() == "sqlite":
        return {"pool_size": 8, "max_overflow": 8}
    # A session gone quiet inside a transaction (its LRS host crashed or lost the network) is
    # ended by the server, so the write turn it holds cannot stop every other process's writes.
    settings = {"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)}
    return {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_pre_ping": pre_ping,
        "connect_args": {"server_settings": settings},
    }


def _sqlite_plugins_database(database_url: str) -> str | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return dialects.plugins_path(os.path.abspath(str(url.database)))


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        directory = os.path.dirname(os.path.abspath(str(url.database)))
        os.makedirs(directory, exist_ok=True)
