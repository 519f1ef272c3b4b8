"""Use case: store a batch of statements, whole or not at all (Communication 2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from lrs.errors import BadRequest, Conflict
from lrs.ops.context import LrsContext
from lrs.store.sql import Transaction
from lrs.store.statements import NewStatement, StatementIdTaken, StoredStatement
from lrs.types import Statement
from lrs.xapi import activities, index, jsonio
from lrs.xapi.compare import equivalent
from lrs.xapi.prepare import (
    Authority,
    format_instant_ms,
    prepare_statement,
    stored_properties,
)

# A batch whose id another request took meanwhile is run again (see save_statements).
STORE_ATTEMPTS = 3


@dataclass(frozen=True)
class Writer:
    """Who is writing: the authority to stamp and whether they may redefine activities."""

    authority: Authority
    may_define: bool


@dataclass(frozen=True)
class Attachment:
    sha2: str
    content_type: str
    content: bytes


def _check_unique_ids(statements: list[Statement]) -> None:
    seen: set[str] = set()
    for position, statement in enumerate(statements):
        statement_id = statement.get("id")
        if isinstance(statement_id, str):
            lowered = statement_id.lower()
            if lowered in seen:
                raise BadRequest(
                    f"statements[{position}].id: {statement_id} appears twice in the batch"
                )
            seen.add(lowered)


@dataclass
class _Pending:
    """A statement ready to store but for its `stored` instant (prepared outside the lock)."""

    sent: Statement  # as the client sent it: what a resend is compared with
    prepared: Statement
    keys: set[index.IndexKey]  # its own filter keys, before any StatementRef inheritance
    body_head: bytes  # the prepared statement as JSON, its closing brace cut off
    client_id: bool  # the client chose the id (only those can be stored already)
    statement: Statement = field(default_factory=dict)  # as stored, once `body` has run

    @property
    def id(self) -> str:
        return str(self.prepared["id"])

    def body(self, stored: str) -> str:
        """The JSON stored and served: the prepared statement plus `stored` (and timestamp)."""
        extra = stored_properties(self.sent, stored)
        self.statement = {**self.prepared, **extra}
        return (self.body_head + b"," + orjson.dumps(extra)[1:]).decode()


def _pending(statements: list[Statement], writer: Writer, version: str) -> list[_Pending]:
    """Everything about the batch that needs no database: ids, index keys, JSON bodies."""
    pending = []
    for sent in statements:
        prepared = prepare_statement(sent, writer.authority, version)
        body_head = jsonio.dumps(prepared, f"statement {prepared['id']}")[:-1]
        keys = index.index_keys(prepared, writer.authority.credential_key)
        pending.append(_Pending(sent, prepared, keys, body_head, "id" in sent))
    return pending


def _split_new(pending: list[_Pending], existing: dict[str, StoredStatement]) -> list[_Pending]:
    """Statements not yet stored; a stored id with other content is a conflict (2.1.2).

    The stored copy is compared with the statement as received, not as prepared: the LRS
    fills `timestamp` from `stored`, which would make every resend of a statement sent
    without a timestamp look different from the first copy.
    """
    new: list[_Pending] = []
    for entry in pending:
        stored = existing.get(entry.id)
        if stored is None:
            new.append(entry)
        elif not equivalent(orjson.loads(stored.body), entry.sent):
            raise Conflict(f"statement {entry.id} already exists with different content")
    return new


# How far a chain of StatementRefs is followed when inheriting filter keys.
MAX_REF_DEPTH = 8


def _ref_target(statement: Statement) -> str | None:
    target = index.statement_ref_target(statement)
    return target.lower() if target is not None else None


async def _load_targets(tx: Transaction, new: list[_Pending]) -> dict[str, Statement]:
    """The batch plus every stored statement its StatementRefs reach, following chains."""
    known: dict[str, Statement] = {p.id: p.prepared for p in new}
    wanted = {t for p in new if (t := _ref_target(p.prepared)) is not None} - known.keys()
    for _ in range(MAX_REF_DEPTH):
        if not wanted:
            break
        rows = await tx.statements.get_statements_by_id(sorted(wanted))
        fetched = {statement_id: orjson.loads(row.body) for statement_id, row in rows.items()}
        known.update(fetched)
        wanted = {t for s in fetched.values() if (t := _ref_target(s)) is not None} - known.keys()
    return known


async def _target_keys(
    tx: Transaction, new: list[_Pending]
) -> tuple[dict[str, set[index.IndexKey]], dict[str, bool]]:
    """Each new statement's own keys, plus (for StatementRefs) its target's (2.1.3)."""
    own = {p.id: p.keys for p in new}
    if not any(_ref_target(p.prepared) is not None for p in new):
        return own, {}
    known = await _load_targets(tx, new)

    def keys_of(statement_id: str, depth: int) -> set[index.IndexKey]:
        # A stored target's own keys; its authority key is never inherited.
        keys = own.get(statement_id) or index.index_keys(known[statement_id], "")
        target = _ref_target(known[statement_id])
        if target is not None and target in known and depth < MAX_REF_DEPTH:
            keys = keys | index.inherited_keys(keys_of(target, depth + 1))
        return keys

    keys = {p.id: keys_of(p.id, 0) for p in new}
    target_is_voiding = {
        target: index.is_voiding(known[target])
        for p in new
        if (target := _ref_target(p.prepared)) is not None and target in known
    }
    return keys, target_is_voiding


def _voided_targets(new: list[_Pending], target_is_voiding: dict[str, bool]) -> set[str]:
    """Ids voided by this batch; a voiding statement cannot itself be voided (Data 2.3.2)."""
    voided: set[str] = set()
    for position, entry in enumerate(new):
        statement = entry.prepared
        target = index.statement_ref_target(statement)
        if target is None or not index.is_voiding(statement):
            continue
        if target_is_voiding.get(target.lower()):
            raise BadRequest(f"statements[{position}]: a voiding statement cannot be voided")
        voided.add(target.lower())
    return voided


async def _save_definitions(
    tx: Transaction, ctx: LrsContext, new: list[_Pending], may_define: bool
) -> dict[str, dict[str, Any]]:
    """Merge the batch's activity definitions into the stored ones; return what was written.

    Definitions already known to be stored as they are sent need no SQL at all: most
    batches repeat the same course and module definitions.
    """
    incoming = activities.definitions_in([p.prepared for p in new])
    known = ctx.known_definitions
    incoming = {
        k: v
        for k, v in incoming.items()
        if k not in known or activities.updated_definitions({k: known[k]}, {k: v}, may_define)
    }
    if not incoming:
        return {}
    stored_text = await tx.statements.get_activity_definitions(sorted(incoming))
    stored = {k: orjson.loads(v) for k, v in stored_text.items()}
    changed = activities.updated_definitions(stored, incoming, may_define)
    await tx.statements.save_activity_definitions(
        {k: orjson.dumps(v).decode() for k, v in changed.items()}
    )
    return {**stored, **changed}


async def _store_batch(
    ctx: LrsContext, pending: list[_Pending], writer: Writer, attachments: list[Attachment]
) -> tuple[list[_Pending], list[str]]:
    """One transaction: store what is new and void what it voids; returns (new, voided ids).

    Everything that needs no database was done before, so the write lock is held briefly.
    """
    client_ids = [p.id for p in pending if p.client_id]
    stored_ms: int | None = None
    try:
        async with ctx.store.write() as tx:
            # Taken once the write lock is held, so stored order follows commit order.
            stored_ms = ctx.clock.start_write()
            # Only ids the client chose can exist already; the LRS's are fresh UUIDs.
            existing = await tx.statements.get_statements_by_id(client_ids) if client_ids else {}
            new = _split_new(pending, existing)
            keys, target_is_voiding = await _target_keys(tx, new)
            voided = _voided_targets(new, target_is_voiding)
            # A voiding statement may arrive before its target: the target is stored voided.
            new_client_ids = [p.id for p in new if p.client_id]
            voided_early = (
                await tx.statements.find_voided_targets(new_client_ids) if new_client_ids else set()
            )
            stored = format_instant_ms(stored_ms)
            await tx.statements.save_statements(
                [
                    NewStatement(
                        id=p.id,
                        stored_ms=stored_ms,
                        voided=p.id in voided or p.id in voided_early,
                        body=p.body(stored),
                        keys=frozenset(keys[p.id]),
                    )
                    for p in new
                ]
            )
            await tx.statements.void_statements(sorted(voided))
            await tx.statements.save_attachments(
                [(a.sha2, a.content_type, a.content) for a in attachments]
            )
            definitions = await _save_definitions(tx, ctx, new, writer.may_define)
    finally:
        if stored_ms is not None:
            ctx.clock.finish_write(stored_ms)
    ctx.remember_definitions(definitions)  # only once committed
    return new, sorted(voided | voided_early)


async def save_statements(
    ctx: LrsContext,
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment] | None = None,
) -> list[str]:
    """Store the batch in one transaction and return every statement's id, in order."""
    _check_unique_ids(statements)
    pending = _pending(statements, writer, version)
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            new, voided_ids = await _store_batch(ctx, pending, writer, attachments or [])
            break
        except StatementIdTaken:
            # A concurrent request stored one of these ids first; run the batch again, now
            # seeing that copy: the same statement is accepted, a different one is a 409.
            if attempt == STORE_ATTEMPTS:
                raise Conflict(
                    "statements with these ids were being stored at the same time; "
                    "send the batch again"
                ) from None
    for listener in ctx.listeners:
        await listener.statements_stored([p.statement for p in new], voided_ids)
    return [p.id for p in pending]
