"""Use case: read every stored statement in storage order, for consumers that keep derived state.

Listeners only hear "something was stored"; they catch up from their own checkpoint through
this feed, so a crash between commit and notification loses nothing.
"""

from __future__ import annotations

import orjson

from lrs.ops.context import LrsContext
from lrs.types import FeedEntry

__all__ = ["FeedEntry", "last_seq", "read_statement_feed"]


async def read_statement_feed(
    ctx: LrsContext, after_seq: int, limit: int = 1000
) -> list[FeedEntry]:
    """Up to `limit` statements stored after `after_seq` (voided and voiding ones included)."""
    async with ctx.store.read() as tx:
        rows = await tx.statements.find_statements_after(after_seq, limit)
    return [FeedEntry(row.seq, orjson.loads(row.body), row.voided) for row in rows]


async def last_seq(ctx: LrsContext) -> int:
    """The storage number of the newest committed statement (0 for none)."""
    async with ctx.store.read() as tx:
        return await tx.statements.last_seq()
