"""Use case: store a batch of statements, whole or not at all (Communication 2.1.2)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from lrs.errors import BadRequest, Conflict
from lrs.ops.context import LrsContext
from lrs.store.sql import Transaction
from lrs.store.statements import NewStatement, StoredStatement
from lrs.types import Statement
from lrs.xapi import activities, index
from lrs.xapi.compare import equivalent
from lrs.xapi.prepare import Authority, prepare_statement


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
                raise BadRequest(f"statements[{position}].id: {statement_id} appears twice in the batch")
            seen.add(lowered)


def _split_new(prepared: list[Statement], existing: dict[str, StoredStatement]) -> list[Statement]:
    """Statements not yet stored; a stored id with other content is a conflict (2.1.2)."""
    new: list[Statement] = []
    for statement in prepared:
        stored = existing.get(statement["id"])
        if stored is None:
            new.append(statement)
        elif not equivalent(orjson.loads(stored.body), statement):
            raise Conflict(f"statement {statement['id']} already exists with different content")
    return new


async def _target_keys(
    tx: Transaction, new: list[Statement], credential_key: str
) -> tuple[dict[str, set[index.IndexKey]], dict[str, bool]]:
    """Each new statement's own keys, plus (for StatementRefs) its target's (2.1.3)."""
    keys = {s["id"]: index.index_keys(s, credential_key) for s in new}
    in_batch = {s["id"]: s for s in new}
    targets = {t for s in new if (t := index.statement_ref_target(s)) is not None}
    stored = await tx.statements.get_statements_by_id(sorted(t.lower() for t in targets - in_batch.keys()))
    stored_keys = await tx.statements.get_index_keys([row.seq for row in stored.values()])
    target_is_voiding: dict[str, bool] = {}
    for statement in new:
        target = index.statement_ref_target(statement)
        if target is None:
            continue
        target = target.lower()
        if target in in_batch:
            target_keys = keys[target]
            target_is_voiding[target] = index.is_voiding(in_batch[target])
        elif target in stored:
            target_keys = stored_keys.get(stored[target].seq, set())
            target_is_voiding[target] = (index.VERB, index.VOIDED_VERB) in target_keys
        else:
            continue
        keys[statement["id"]] |= index.inherited_keys(target_keys)
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
    await tx.statements.save_activity_definitions({k: orjson.dumps(v).decode() for k, v in changed.items()})


async def save_statements(
    ctx: LrsContext,
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment] | None = None,
) -> list[str]:
    """Store the batch in one transaction and return every statement's id, in order."""
    _check_unique_ids(statements)
    async with ctx.store.write() as tx:
        stored_ms = ctx.clock.now_ms()
        prepared = [prepare_statement(s, writer.authority, stored_ms, version) for s in statements]
        existing = await tx.statements.get_statements_by_id([s["id"] for s in prepared])
        new = _split_new(prepared, existing)
        keys, target_is_voiding = await _target_keys(tx, new, writer.authority.credential_key)
        voided = _voided_targets(new, target_is_voiding)
        # A voiding statement may arrive before its target: the target is stored voided.
        voided_early = await tx.statements.find_voided_targets([s["id"] for s in new])
        await tx.statements.save_statements(
            [
                NewStatement(
                    id=s["id"],
                    stored_ms=stored_ms,
                    voided=s["id"] in voided or s["id"] in voided_early,
                    body=orjson.dumps(s).decode(),
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
    for listener in ctx.listeners:
        await listener.statements_stored(new)
        if voided:
            await listener.statements_voided(sorted(voided))
    return [s["id"] for s in prepared]
