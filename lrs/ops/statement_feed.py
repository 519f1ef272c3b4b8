"""Use case: read every stored statement in storage order, for consumers that keep derived state.

Listeners only hear "something was stored"; they catch up from their own checkpoint through
this feed, so a crash between commit and notification loses nothing.
"""

from __future__ import annotations

import orjson

from lrs.ops.context import LrsContext
from lrs.store.statements import StoredStatement
from lrs.types import FeedEntry

__all__ = [
    "FeedEntry",
    "StoredStatement",
    "last_seq",
    "parse_feed_row",
    "read_feed_rows",
    "read_statement_feed",
]


async def read_statement_feed(
    ctx: LrsContext, after_seq: int, limit: int = 1000
) -> list[FeedEntry]:
    """Up to `limit` statements stored after `after_seq` (voided and voiding ones included)."""
    return [parse_feed_row(row) for row in await read_feed_rows(ctx, after_seq, limit)]


async def read_feed_rows(ctx: LrsContext, after_seq: int, limit: int) -> list[StoredStatement]:
    """read_statement_feed with each statement still as its JSON.

    For consumers of thousands at a time: parsing each when its turn comes, and letting it go,
    costs a third of holding the whole chunk parsed (allocating fresh memory for every
    statement's objects costs more than parsing them).
    """
    async with ctx.store.read() as tx:
        return await tx.statements.find_statements_after(after_seq, limit)


def parse_feed_row(row: StoredStatement) -> FeedEntry:
    return FeedEntry(row.seq, orjson.loads(row.body), row.voided)


async def last_seq(ctx: LrsContext) -> int:
    """The storage number of the newest committed statement (0 for none)."""
    async with ctx.store.read() as tx:
        return await tx.statements.last_seq()
