"""SqlStore (lrs/store/sql.py): writers take turns across processes; Consistent-Through knows it;
writers of plugins' tables alone take no turn among statements' writers.

A second SqlStore on the same database stands for another `lrs serve` process: it has its
own clock and its own in-process lock, and shares only the database.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import orjson
import pytest
from sqlalchemy import create_engine
from sqlmodel import Field, SQLModel

from lrs.ops.context import LrsContext
from lrs.ops.get_statements import get_consistent_through
from lrs.ops.save_statements import Writer, save_statements
from lrs.ops.statement_feed import read_statement_feed
from lrs.store import migrate
from lrs.store.sql import SqlStore
from lrs.store.statements import NewStatement
from lrs.xapi.prepare import Authority, authority_agent
from tests.conftest import statement


class PluginRow(SQLModel, table=True):
    """A plugin's table, as plugins declare theirs (outside lrs/store/tables.py)."""

    __tablename__ = "test_plugin_rows"

    name: str = Field(primary_key=True)


PLUGIN_TABLE = PluginRow.__tablename__
WRITER = Writer(Authority("tester", authority_agent("tester", "tester", "https://lrs.test")), True)
# Long enough for a writer that does not wait for its turn to commit meanwhile.
SETTLE_SECONDS = 0.3


@pytest.fixture
async def other_process(lrs: LrsContext) -> AsyncIterator[SqlStore]:
    other = SqlStore(lrs.store.url)
    try:
        yield other
    finally:
        await other.close()


def _stored_by_hand(stored_ms: int) -> NewStatement:
    body = statement(id=str(uuid.uuid4()))
    return NewStatement(body["id"], stored_ms, False, orjson.dumps(body), frozenset())


async def test_a_statement_committed_late_is_not_passed_by_the_feed(
    lrs: LrsContext, other_process: SqlStore
) -> None:
    """`seq` follows commit order, so a reader going on from its checkpoint misses nothing."""
    early = _stored_by_hand(int(time.time() * 1000))
    async with other_process.write() as tx:
        await tx.statements.save_statements([early])
        later = asyncio.create_task(save_statements(lrs, [statement()], WRITER, "1.0.3"))
        await asyncio.sleep(SETTLE_SECONDS)
        assert not later.done(), "a writer did not wait for its turn"
        seen_meanwhile = await read_statement_feed(lrs, after_seq=0)
    (later_id,) = await later

    checkpoint = seen_meanwhile[-1].seq if seen_meanwhile else 0
    seen = seen_meanwhile + await read_statement_feed(lrs, after_seq=checkpoint)
    assert [entry.statement["id"] for entry in seen] == [early.id, later_id]


async def test_consistent_through_before_the_first_statement_commits(
    lrs: LrsContext, other_process: SqlStore
) -> None:
    """The very first write, in another process, may have taken a `stored` before this one's
    clock reads: with nothing committed to bound it, only the epoch is a safe answer."""
    async with other_process.write() as tx:
        being_stored = _stored_by_hand(int(time.time() * 1000))
        await tx.statements.save_statements([being_stored])
        await asyncio.sleep(0.01)
        assert await get_consistent_through(lrs) < being_stored.stored_ms
    lrs.consistency = None  # the 0.2 s reuse would repeat the answer given during the write
    assert await get_consistent_through(lrs) >= being_stored.stored_ms


async def test_consistent_through_waits_for_another_process_writing(
    lrs: LrsContext, other_process: SqlStore
) -> None:
    """X-Experience-API-Consistent-Through (2.1.3): statements stored before it are visible."""
    await save_statements(lrs, [statement()], WRITER, "1.0.3")
    async with other_process.write() as tx:
        # The other process took `stored` in its turn, and has not committed yet.
        being_stored = _stored_by_hand(int(time.time() * 1000))
        await tx.statements.save_statements([being_stored])
        await asyncio.sleep(0.01)
        assert await get_consistent_through(lrs) <= being_stored.stored_ms
    # Nobody writing: a recent instant, even with no recent statements (2.1.3).
    assert await get_consistent_through(lrs) >= int(time.time() * 1000) - 1000


async def test_writes_to_plugins_tables_alone_do_not_hold_up_statements(
    lrs: LrsContext, other_process: SqlStore
) -> None:
    """Another process deriving state (course progress) for a while: statements are still
    stored meanwhile, on SQLite (plugins' tables in a file of their own) and PostgreSQL."""
    async with other_process.write(tables="plugins"):
        stored = await asyncio.wait_for(save_statements(lrs, [statement()], WRITER, "1.0.3"), 5)
    assert len(stored) == 1


async def test_a_plugins_write_waits_for_another_plugins_write_on_sqlite(
    lrs: LrsContext, other_process: SqlStore
) -> None:
    """SQLite has one writer a file. (On PostgreSQL plugins queue on their own rows' locks.)"""
    if not lrs.store.sqlite:
        pytest.skip("PostgreSQL takes no turn for plugins' writes")
    async with other_process.write(tables="plugins"):
        waiting = asyncio.create_task(_hold(lrs.store.write(tables="plugins")))
        await asyncio.sleep(SETTLE_SECONDS)
        assert not waiting.done(), "two writers of plugins' tables did not take turns"
    await asyncio.wait_for(waiting, 5)


async def _hold(transaction: AbstractAsyncContextManager[object]) -> None:
    async with transaction:
        pass


async def test_sqlite_keeps_plugins_tables_in_a_file_of_their_own(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3")
    try:
        await store.create_schema()
    finally:
        await store.close()
    assert PLUGIN_TABLE not in _sqlite_tables(tmp_path / "lrs.sqlite3")
    assert PLUGIN_TABLE in _sqlite_tables(tmp_path / "lrs.plugins.sqlite3")
    assert "statement" not in _sqlite_tables(tmp_path / "lrs.plugins.sqlite3")


async def test_a_database_made_with_plugins_tables_inside_keeps_them_there(
    tmp_path: Path,
) -> None:
    """An SQLite database from before plugins' tables had a file of their own still works:
    its tables stay where they are, and writes to them take both files' locks."""
    path = tmp_path / "lrs.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        migrate._upgrade(connection, migrate.HEAD)  # no file attached: everything in one
    engine.dispose()
    store = SqlStore(f"sqlite+aiosqlite:///{path}")
    try:
        await store.create_schema()
        async with store.write(tables="plugins") as tx:
            await tx.conn.exec_driver_sql(f"INSERT INTO {PLUGIN_TABLE} (name) VALUES ('kept')")
        async with store.read() as tx:
            found = await tx.conn.exec_driver_sql(f"SELECT name FROM main.{PLUGIN_TABLE}")
            assert found.scalar() == "kept"
    finally:
        await store.close()
    assert PLUGIN_TABLE not in _sqlite_tables(tmp_path / "lrs.plugins.sqlite3")


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
