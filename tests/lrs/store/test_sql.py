"""SqlStore (lrs/store/sql.py): writers take turns across processes; Consistent-Through knows it.

A second SqlStore on the same database stands for another `lrs serve` process: it has its
own clock and its own in-process lock, and shares only the database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from lrs.ops.context import LrsContext
from lrs.ops.get_statements import get_consistent_through
from lrs.ops.save_statements import Writer, save_statements
from lrs.ops.statement_feed import read_statement_feed
from lrs.store.sql import SqlStore
from lrs.store.statements import NewStatement
from lrs.xapi.prepare import Authority, authority_agent
from tests.conftest import statement

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
    return NewStatement(body["id"], stored_ms, False, orjson.dumps(body).decode(), frozenset())


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
