"""Use cases: read one statement, or a page of statements (Communication 2.1.3)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from lrs.errors import NotFound
from lrs.ops.context import LrsContext
from lrs.store.sql import Transaction
from lrs.store.statements import StoredStatement
from lrs.types import Statement
from lrs.xapi import formats, index
from lrs.xapi.query import Cursor, Filter, SingleQuery, StatementQuery


@dataclass(frozen=True)
class Reader:
    """Whose statements may be read: all, or only those this credential stored (read/mine)."""

    credential_key: str
    only_mine: bool


@dataclass(frozen=True)
class AttachmentContent:
    sha2: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class StatementPage:
    statements_json: list[bytes]  # each statement serialized in the requested format
    next_cursor: Cursor | None
    attachments: list[AttachmentContent]
    last_stored_ms: int | None


def _shape(
    rows: list[StoredStatement],
    fmt: str,
    definitions: dict[str, dict[str, object]],
    languages: list[str],
) -> list[bytes]:
    if fmt == "exact":
        return [row.body.encode() for row in rows]
    statements = [orjson.loads(row.body) for row in rows]
    if fmt == "ids":
        return [orjson.dumps(formats.ids_format(s)) for s in statements]
    return [orjson.dumps(formats.canonical_format(s, definitions, languages)) for s in statements]


async def _definitions_for(
    tx: Transaction, rows: list[StoredStatement], fmt: str
) -> dict[str, dict[str, object]]:
    if fmt != "canonical" or not rows:
        return {}
    ids = formats.activity_ids_in([orjson.loads(row.body) for row in rows])
    stored = await tx.statements.get_activity_definitions(sorted(ids))
    return {k: orjson.loads(v) for k, v in stored.items()}


async def _attachments_for(tx: Transaction, rows: list[StoredStatement]) -> list[AttachmentContent]:
    """Stored content for the statements' attachments (fileUrl-only ones have none)."""
    wanted: dict[str, None] = {}
    for row in rows:
        statement: Statement = orjson.loads(row.body)
        for attachment in statement.get("attachments") or ():
            wanted.setdefault(attachment["sha2"], None)
    found = await tx.statements.get_attachments(list(wanted))
    return [AttachmentContent(sha2, *found[sha2]) for sha2 in wanted if sha2 in found]


def _mine(reader: Reader) -> tuple[Filter, ...]:
    return (((index.AUTHORITY,), reader.credential_key),) if reader.only_mine else ()


async def get_statement(
    ctx: LrsContext, query: SingleQuery, reader: Reader, languages: list[str]
) -> StatementPage:
    """statementId finds a statement unless voided; voidedStatementId only if voided (2.1.3)."""
    async with ctx.store.read() as tx:
        row = await tx.statements.get_statement(query.statement_id)
        if row is None or row.voided != query.voided:
            raise NotFound(f"no statement with id {query.statement_id}")
        if reader.only_mine and not await tx.statements.has_index_key(
            row.seq, (index.AUTHORITY, reader.credential_key)
        ):
            raise NotFound(f"no statement with id {query.statement_id}")
        definitions = await _definitions_for(tx, [row], query.format)
        attachments = await _attachments_for(tx, [row]) if query.attachments else []
    return StatementPage(
        _shape([row], query.format, definitions, languages), None, attachments, row.stored_ms
    )


async def find_statements(
    ctx: LrsContext,
    query: StatementQuery,
    reader: Reader,
    languages: list[str],
    after_seq: int | None = None,
) -> StatementPage:
    """One page of matching statements and, when more remain, the cursor to the next."""
    async with ctx.store.read() as tx:
        rows = await tx.statements.find_statements(query, after_seq, query.limit + 1, _mine(reader))
        has_more = len(rows) > query.limit
        rows = rows[: query.limit]
        definitions = await _definitions_for(tx, rows, query.format)
        attachments = await _attachments_for(tx, rows) if query.attachments else []
    cursor = Cursor(query.params, rows[-1].seq) if has_more and rows else None
    last_stored = max((row.stored_ms for row in rows), default=None)
    return StatementPage(
        _shape(rows, query.format, definitions, languages), cursor, attachments, last_stored
    )


# How long an answer from the database is reused: an older instant is still a true bound.
CONSISTENCY_REUSE_SECONDS = 0.2


async def get_consistent_through(ctx: LrsContext) -> int:
    """X-Experience-API-Consistent-Through: every statement stored before it is visible (2.1.3).

    Right with several processes on one database too: this process's clock knows only its
    own writes in flight, the store knows whether another process is writing. Visibility
    only grows, so the database's answer is reused briefly rather than asked per response.
    """
    local = ctx.clock.consistent_through_ms()
    now = time.monotonic()
    if ctx.consistency is not None and now - ctx.consistency[0] < CONSISTENCY_REUSE_SECONDS:
        return min(ctx.consistency[1], local)
    through = await ctx.store.consistent_through_ms(local)
    ctx.consistency = (now, through)
    return through
