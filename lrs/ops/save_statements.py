"""Use case: store a batch of statements, whole or not at all (Communication 2.1.2)."""

from __future__ import annotations

from lrs.ops._drafts import Attachment, Writer, check_unique_ids, make_request
from lrs.ops._group_commit import Committer, GroupCommitter
from lrs.ops.context import LrsContext
from lrs.ops.writer import RemoteCommitter
from lrs.types import FeedEntry, Statement
from lrs.xapi.prepare import format_instant_ms

__all__ = ["Attachment", "Writer", "save_statements"]


def _committer(ctx: LrsContext) -> Committer:
    """The writer process when `lrs serve` runs one (lrs.ops.writer), else this process."""
    if ctx.settings.writer_socket:
        return RemoteCommitter(ctx.settings.writer_socket)
    return GroupCommitter(ctx)


async def save_statements(
    ctx: LrsContext,
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment] | None = None,
) -> list[str]:
    """Store the batch atomically and return every statement's id, in order.

    Concurrent batches are committed together (see _group_commit), each still whole or not
    at all; listeners hear of each batch once it is committed.
    """
    check_unique_ids(statements)
    encode_index = ctx.store.index_row_encoder()
    request = make_request(statements, writer, version, attachments or [], encode_index)
    if ctx.committer is None:
        ctx.committer = _committer(ctx)
    stored = await ctx.committer.store(request)
    if ctx.listeners:
        stored_at = format_instant_ms(stored.stored_ms)
        entries = [
            FeedEntry(seq, d.as_stored(stored_at), voided)
            for d, (seq, voided) in zip(stored.new, stored.places, strict=True)
        ]
        for listener in ctx.listeners:
            await listener.statements_stored(entries, stored.voided_ids)
    return [d.id for d in request.drafts]
