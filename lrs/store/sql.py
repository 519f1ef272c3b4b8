"""The SQL store: one engine, transactions for the ops layer, and the per-resource query groups."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from lrs.store import dialects, tables  # noqa: F401  (tables registers the metadata)
from lrs.store.agents import AgentQueries
from lrs.store.credentials import CredentialQueries
from lrs.store.documents import DocumentQueries
from lrs.store.statements import StatementQueries


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
        self.engine: AsyncEngine = create_async_engine(database_url, **_engine_options(database_url))
        self.sqlite = dialects.is_sqlite(self.engine)
        if self.sqlite:
            dialects.configure_sqlite(self.engine)
        # SQLite has one writer at a time: queue writers here rather than on the file lock.
        self._write_lock = asyncio.Lock() if self.sqlite else None

    async def create_schema(self) -> None:
        _ensure_sqlite_directory(self.url)
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

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
        """One write transaction: committed when the block ends, rolled back if it raises."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield self._transaction(conn)
            return
        async with self._write_lock, self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield self._transaction(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """One read transaction: a consistent snapshot."""
        async with self.engine.connect() as conn, conn.begin():
            yield self._transaction(conn)


def _engine_options(database_url: str) -> dict[str, object]:
    if make_url(database_url).get_backend_name() == "sqlite":
        return {"pool_size": 8, "max_overflow": 8}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        directory = os.path.dirname(os.path.abspath(str(url.database)))
        os.makedirs(directory, exist_ok=True)
