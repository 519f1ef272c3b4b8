"""Use case: store a batch of statements, whole or not at all (Communication 2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from lrs.errors import BadRequest, Conflict
from lrs.ops.context import LrsContext
from lrs.store.sql import Transaction
from lrs.store.statements import NewStatement, StatementIdTaken, StoredStatement
from lrs.types import Statement
from lrs.xapi import activities, index, jsonio
from lrs.xapi.compare import equivalent
from lrs.xapi.prepare import Authority, prepare_statement

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


def _split_new(
    received: list[Statement], prepared: list[Statement], existing: dict[str, StoredStatement]
) -> list[Statement]:
    """Statements not yet stored; a stored id with other content is a conflict (2.1.2).

    The stored copy is compared with the statement as received, not as prepared: preparing
    fills `timestamp` from this request's `stored`, which would make every resend of a
    statement sent without a timestamp look different from the first copy.
    """
    new: list[Statement] = []
    for sent, statement in zip(received, prepared, strict=True):
        stored = existing.get(statement["id"])
        if stored is None:
            new.append(statement)
        elif not equivalent(orjson.loads(stored.body), sent):
            raise Conflict(f"statement {statement['id']} already exists with different content")
    return new


# How far a chain of StatementRefs is followed when inheriting filter keys.
MAX_REF_DEPTH = 8


def _ref_target(statement: Statement) -> str | None:
    target = index.statement_ref_target(statement)
    return target.lower() if target is not None else None


async def _load_targets(tx: Transaction, new: list[Statement]) -> dict[str, Statement]:
    """The batch plus every stored statement its StatementRefs reach, following chains."""
    known: dict[str, Statement] = {s["id"]: s for s in new}
    wanted = {t for s in new if (t := _ref_target(s)) is not None} - known.keys()
    for _ in range(MAX_REF_DEPTH):
        if not wanted:
            break
        rows = await tx.statements.get_statements_by_id(sorted(wanted))
        fetched = {statement_id: orjson.loads(row.body) for statement_id, row in rows.items()}
        known.update(fetched)
        wanted = {t for s in fetched.values() if (t := _ref_target(s)) is not None} - known.keys()
    return known


async def _target_keys(
    tx: Transaction, new: list[Statement], credential_key: str
) -> tuple[dict[str, set[index.IndexKey]], dict[str, bool]]:
    """Each new statement's own keys, plus (for StatementRefs) its target's (2.1.3)."""
    known = await _load_targets(tx, new)

    def keys_of(statement_id: str, depth: int) -> set[index.IndexKey]:
        statement = known[statement_id]
        keys = index.index_keys(statement, credential_key)
        target = _ref_target(statement)
        if target is not None and target in known and depth < MAX_REF_DEPTH:
            keys |= index.inherited_keys(keys_of(target, depth + 1))
        return keys

    keys = {s["id"]: keys_of(s["id"], 0) for s in new}
    target_is_voiding = {
        target: index.is_voiding(known[target])
        for s in new
        if (target := _ref_target(s)) is not None and target in known
    }
    return keys, target_is_voiding


def _voided_targets(new: list[Statement], target_is_voiding: dict[str, bool]) -> set[str]:
    """Ids voided by this batch; a voiding statement cannot itself be voided (Data 2.3.2)."""
    voided: set[str] = set()
    for position, statement in enumerate(new):
        target = index.statement_ref_target(statement)
        if target is None or not index.is_voiding(statement):
            continue
        if target_is_voiding.get(target.lower()):
            raise BadRequest(f"statements[{position}]: a voiding statement cannot be voided")
        voided.add(target.lower())
    return voided


async def _save_definitions(tx: Transaction, new: list[Statement], may_define: bool) -> None:
    incoming = activities.definitions_in(new)
    if not incoming:
        return
    stored_text = await tx.statements.get_activity_definitions(sorted(incoming))
    stored = {k: orjson.loads(v) for k, v in stored_text.items()}
    changed = activities.updated_definitions(stored, incoming, may_define)
    await tx.statements.save_activity_definitions(
        {k: orjson.dumps(v).decode() for k, v in changed.items()}
    )


async def _store_batch(
    ctx: LrsContext,
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment] | None,
) -> tuple[list[Statement], list[Statement], list[str]]:
    """One transaction: (every statement as prepared, those newly stored, ids voided)."""
    sent_ids = {str(s["id"]).lower() for s in statements if "id" in s}
    stored_ms: int | None = None
    try:
        async with ctx.store.write() as tx:
            # Taken once the write lock is held, so stored order follows commit order.
            stored_ms = ctx.clock.start_write()
            prepared = [
                prepare_statement(s, writer.authority, stored_ms, version) for s in statements
            ]
            existing = await tx.statements.get_statements_by_id([s["id"] for s in prepared])
            new = _split_new(statements, prepared, existing)
            keys, target_is_voiding = await _target_keys(tx, new, writer.authority.credential_key)
            voided = _voided_targets(new, target_is_voiding)
            # A voiding statement may arrive before its target: the target is stored voided.
            # Only ids the client chose can have been named before; the LRS's are fresh UUIDs.
            client_ids = [s["id"] for s in new if s["id"] in sent_ids]
            voided_early = (
                await tx.statements.find_voided_targets(client_ids) if client_ids else set()
            )
            await tx.statements.save_statements(
                [
                    NewStatement(
                        id=s["id"],
                        stored_ms=stored_ms,
                        voided=s["id"] in voided or s["id"] in voided_early,
                        body=jsonio.dumps(s, f"statement {s['id']}").decode(),
                        keys=frozenset(keys[s["id"]]),
                    )
                    for s in new
                ]
            )
            await tx.statements.void_statements(sorted(voided))
            await tx.statements.save_attachments(
                [(a.sha2, a.content_type, a.content) for a in attachments or []]
            )
            await _save_definitions(tx, new, writer.may_define)
    finally:
        if stored_ms is not None:
            ctx.clock.finish_write(stored_ms)
    return prepared, new, sorted(voided | voided_early)


async def save_statements(
    ctx: LrsContext,
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment] | None = None,
) -> list[str]:
    """Store the batch in one transaction and return every statement's id, in order."""
    _check_unique_ids(statements)
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            stored = await _store_batch(ctx, statements, writer, version, attachments)
            break
        except StatementIdTaken:
            # A concurrent request stored one of these ids first; run the batch again, now
            # seeing that copy: the same statement is accepted, a different one is a 409.
            if attempt == STORE_ATTEMPTS:
                raise Conflict(
                    "statements with these ids were being stored at the same time; "
                    "send the batch again"
                ) from None
    prepared, new, voided_ids = stored
    for listener in ctx.listeners:
        await listener.statements_stored(new, voided_ids)
    return [s["id"] for s in prepared]
