"""The SQL store: one engine, transactions for the ops layer, and the per-resource query groups."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lrs.store import dialects, migrate
from lrs.store.agents import AgentQueries
from lrs.store.credentials import CredentialQueries
from lrs.store.documents import DocumentQueries
from lrs.store.statements import StatementQueries, statement_t

# PostgreSQL ends a session idle this long inside a transaction (see _engine_options).
IDLE_IN_TRANSACTION_MS = 60_000


@dataclass
class Transaction:
    """What an op can do inside one transaction, grouped by resource."""

    conn: AsyncConnection
    statements: StatementQueries
    credentials: CredentialQueries
    documents: DocumentQueries
    agents: AgentQueries


class SqlStore:
    """The one storage implementation; SQLite and PostgreSQL differ only in `dialects`."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.engine: AsyncEngine = create_async_engine(
            database_url, **_engine_options(database_url)
        )
        self.sqlite = dialects.is_sqlite(self.engine)
        if self.sqlite:
            dialects.configure_sqlite(self.engine)
        # One writer at a time (see `write`): queue this process's writers here, holding no
        # connection, rather than on the database's lock.
        self._write_lock = asyncio.Lock()

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
    async def write(self) -> AsyncIterator[Transaction]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        Write transactions take turns, across processes too (SQLite's BEGIN IMMEDIATE, a
        PostgreSQL advisory lock). So statements get their `seq` in commit order: paging and
        the statement feed never pass a statement that commits later with a smaller `seq`.
        And a writer takes `stored` during its turn, which `consistent_through_ms` relies on.
        """
        async with self._write_lock, self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                await dialects.take_write_turn(conn)
                yield self._transaction(conn)

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


def _engine_options(database_url: str) -> dict[str, object]:
    if make_url(database_url).get_backend_name() == "sqlite":
        return {"pool_size": 8, "max_overflow": 8}
    # A session gone quiet inside a transaction (its LRS host crashed or lost the network) is
    # ended by the server, so the write turn it holds cannot stop every other process's writes.
    settings = {"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)}
    return {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_pre_ping": True,
        "connect_args": {"server_settings": settings},
    }


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        directory = os.path.dirname(os.path.abspath(str(url.database)))
        os.makedirs(directory, exist_ok=True)
