"""Group commit: batches that arrive while a write is running are stored together, next.

Each request's batch still stands or falls alone: every check that can refuse a batch (a
conflicting id, voiding a voiding statement) runs per batch before anything is written,
and a batch that fails is left out of the group. One transaction, and a handful of round
trips, then serve many concurrent requests: that, not the SQL, is what a busy single-writer
database costs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from lrs.errors import BadRequest, Conflict, XapiError
from lrs.ops._drafts import BatchRequest, Draft
from lrs.ops.context import LrsContext
from lrs.store.sql import ConnectionLost, Transaction
from lrs.store.statements import NewStatement, StatementIdTaken, StoredStatement
from lrs.types import Statement
from lrs.xapi import activities, index
from lrs.xapi.compare import equivalent
from lrs.xapi.prepare import format_instant_ms

# How far a chain of StatementRefs is followed when inheriting filter keys.
MAX_REF_DEPTH = 8
# Most statements one group commits; later arrivals wait for the next group.
MAX_GROUP_STATEMENTS = 5_000
# A batch whose id another process took meanwhile is tried again (PostgreSQL only).
STORE_ATTEMPTS = 3


@dataclass(frozen=True)
class Stored:
    """What one request's batch did: the statements newly stored, the ids they voided, and
    the `stored` instant of its group; then, for each new statement, its `seq` and whether
    it was stored voided (its voiding statement came first)."""

    new: list[Draft]
    voided_ids: list[str]
    stored_ms: int
    places: list[tuple[int, bool]] = field(default_factory=list)


Outcome = Stored | XapiError


@dataclass(frozen=True)
class _RefFacts:
    """What StatementRefs need of a statement they may reach: its own filter keys, its own
    target, whether it voids."""

    keys: set[index.IndexKey]
    target: str | None
    voiding: bool

    @classmethod
    def of_stored(cls, statement: Statement) -> _RefFacts:
        # A stored target's own keys; its authority key is never inherited.
        return cls(
            index.index_keys(statement, ""),
            index.ref_target_key(statement),
            index.is_voiding(statement),
        )

    @classmethod
    def of_draft(cls, draft: Draft) -> _RefFacts:
        return cls(draft.keys, draft.ref_target, draft.voiding)


async def _load_targets(tx: Transaction, drafts: list[Draft]) -> dict[str, _RefFacts]:
    """Stored statements the drafts' StatementRefs reach, following chains."""
    known: dict[str, _RefFacts] = {}
    in_group = {d.id for d in drafts}
    wanted = {d.ref_target for d in drafts if d.ref_target is not None} - in_group
    for _ in range(MAX_REF_DEPTH):
        if not wanted:
            break
        rows = await tx.statements.get_statements_by_id(sorted(wanted))
        fetched = {i: _RefFacts.of_stored(orjson.loads(row.body)) for i, row in rows.items()}
        known.update(fetched)
        wanted = {f.target for f in fetched.values() if f.target is not None}
        wanted -= known.keys() | in_group
    return known


class _GroupState:
    """The statements a group has accepted so far, seen by the batches after them."""

    def __init__(self, existing: dict[str, StoredStatement], stored_targets: dict[str, _RefFacts]):
        self.existing = existing
        self.known: dict[str, _RefFacts] = dict(stored_targets)
        self.accepted: dict[str, Draft] = {}

    def split_new(self, drafts: list[Draft]) -> list[Draft]:
        """Drafts not stored yet; a stored id with other content is a conflict (2.1.2).

        A resend is compared as the client sent it: the LRS fills `timestamp` from `stored`,
        which would make every resend of a statement without one look different.
        """
        new: list[Draft] = []
        for draft in drafts:
            stored = self.existing.get(draft.id)
            earlier = self.accepted.get(draft.id)
            if stored is None and earlier is None:
                new.append(draft)
                continue
            first = orjson.loads(stored.body) if stored is not None else earlier.prepared  # type: ignore[union-attr]
            if not equivalent(first, draft.sent):
                raise Conflict(f"statement {draft.id} already exists with different content")
        return new

    def keys_of(self, statement_id: str, depth: int = 0) -> set[index.IndexKey]:
        """A statement's keys plus, for a StatementRef, its target's (Communication 2.1.3)."""
        facts = self.known[statement_id]
        target = facts.target
        if target is not None and target in self.known and depth < MAX_REF_DEPTH:
            return facts.keys | index.inherited_keys(self.keys_of(target, depth + 1))
        return facts.keys

    def accept(self, new: list[Draft]) -> tuple[dict[str, set[index.IndexKey]], set[str]]:
        """Take a batch's new drafts into the group: (their keys, the ids they void)."""
        for draft in new:
            self.known[draft.id] = _RefFacts.of_draft(draft)
        try:
            voided = _voided_targets(new, self.known)
            keys = {d.id: self.keys_of(d.id) for d in new}
        except XapiError:
            for draft in new:
                self.known.pop(draft.id, None)
            raise
        self.accepted.update((d.id, d) for d in new)
        return keys, voided


def _voided_targets(new: list[Draft], known: dict[str, _RefFacts]) -> set[str]:
    """Ids voided by this batch; a voiding statement cannot itself be voided (Data 2.3.2)."""
    voided: set[str] = set()
    for position, draft in enumerate(new):
        target = draft.ref_target
        if target is None or not draft.voiding:
            continue
        if target in known and known[target].voiding:
            raise BadRequest(f"statements[{position}]: a voiding statement cannot be voided")
        voided.add(target)
    return voided


async def _save_definitions(
    tx: Transaction, ctx: LrsContext, given: dict[str, dict[str, Any]], may_define: bool
) -> dict[str, dict[str, Any]]:
    """Merge activity definitions into the stored ones; return what is stored now.

    Definitions this process knows to be stored as they are sent need no SQL: most batches
    repeat the same course and module definitions (an equal one is seen at C speed, before
    any merging).
    """
    known = ctx.known_definitions
    incoming = {
        k: v
        for k, v in given.items()
        if known.get(k) != v
        and (k not in known or activities.updated_definitions({k: known[k]}, {k: v}, may_define))
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


def _check_batches(
    state: _GroupState, requests: list[BatchRequest], stored_ms: int
) -> tuple[list[Outcome], list[NewStatement], set[str]]:
    """Each batch passes or fails alone: (outcomes, rows to insert, ids the group voids)."""
    outcomes: list[Outcome] = []
    rows: list[NewStatement] = []
    voided_by_group: set[str] = set()
    stored = format_instant_ms(stored_ms)
    for request in requests:
        if all(d.plain for d in request.drafts):
            # Fresh ids of the LRS's, no StatementRef: nothing to compare, void or inherit,
            # and no later statement of the group can name them.
            outcomes.append(Stored(request.drafts, [], stored_ms))
            rows += [_new_statement(d, stored_ms, stored, d.keys) for d in request.drafts]
            continue
        try:
            new = state.split_new(request.drafts)
            keys, voided = state.accept(new)
        except XapiError as error:
            outcomes.append(error)
            continue
        outcomes.append(Stored(new, sorted(voided), stored_ms))
        voided_by_group |= voided
        rows += [_new_statement(d, stored_ms, stored, keys[d.id]) for d in new]
    return outcomes, rows, voided_by_group


def _new_statement(
    draft: Draft, stored_ms: int, stored: str, keys: set[index.IndexKey]
) -> NewStatement:
    # Its index rows encoded by the worker are its own keys': a StatementRef's inherit more.
    heads = draft.index_heads if draft.ref_target is None else None
    return NewStatement(draft.id, stored_ms, False, draft.body(stored), frozenset(keys), heads)


async def _save_extras(
    tx: Transaction, ctx: LrsContext, requests: list[BatchRequest], outcomes: list[Outcome]
) -> dict[str, dict[str, Any]]:
    """Attachments and activity definitions of the batches that passed."""
    passed = [(r, o) for r, o in zip(requests, outcomes, strict=True) if isinstance(o, Stored)]
    await tx.statements.save_attachments(
        [(a.sha2, a.content_type, a.content) for r, _ in passed for a in r.attachments]
    )
    definitions: dict[str, dict[str, Any]] = {}
    for may_define in (False, True):
        given = [r.definitions_of(o.new) for r, o in passed if r.writer.may_define is may_define]
        merged = activities.merged_definitions(given)
        if merged:
            definitions |= await _save_definitions(tx, ctx, merged, may_define)
    return definitions


async def _store_group(ctx: LrsContext, requests: list[BatchRequest]) -> list[Outcome]:
    """One transaction for every batch of the group that passes its checks; once more if
    the database dropped the connection it had (a writer's connections are not tested
    before each use: lrs.ops.writer)."""
    try:
        return await _store_group_once(ctx, requests)
    except ConnectionLost:
        return await _store_group_once(ctx, requests)


async def _store_group_once(ctx: LrsContext, requests: list[BatchRequest]) -> list[Outcome]:
    stored_ms: int | None = None
    try:
        # Statements and what they bring (attachments, definitions) are the LRS's own tables.
        async with ctx.store.write(tables="core") as tx:
            # Taken once the write lock is held, so stored order follows commit order.
            stored_ms = ctx.clock.start_write()
            drafts = [d for r in requests for d in r.drafts]
            # Only ids clients chose can exist already; the LRS's own are fresh UUIDs.
            client_id_set = {d.id for d in drafts if d.client_id}
            client_ids = sorted(client_id_set)
            existing = await tx.statements.get_statements_by_id(client_ids) if client_ids else {}
            state = _GroupState(existing, await _load_targets(tx, drafts))
            outcomes, rows, voided_by_group = _check_batches(state, requests, stored_ms)
            # A voiding statement may arrive before its target: the target is stored voided.
            new_client_ids = [r.id for r in rows if r.id in client_id_set]
            voided_early = (
                await tx.statements.find_voided_targets(new_client_ids) if new_client_ids else set()
            )
            voided_now = voided_by_group | voided_early
            seq_of = await tx.statements.save_statements(
                [r if r.id not in voided_now else r._replace(voided=True) for r in rows]
            )
            await tx.statements.void_statements(sorted(voided_by_group - {r.id for r in rows}))
            await _pass_keys_to_earlier_referrers(tx, state, new_client_ids)
            definitions = await _save_extras(tx, ctx, requests, outcomes)
    finally:
        if stored_ms is not None:
            ctx.clock.finish_write(stored_ms)
    ctx.remember_definitions(definitions)  # only once committed
    return [_as_committed(o, seq_of, voided_now, voided_early) for o in outcomes]


async def _pass_keys_to_earlier_referrers(
    tx: Transaction, state: _GroupState, new_ids: list[str]
) -> None:
    """Statements stored before the statement their StatementRef targets (a site syncing
    late): now that it is here, they match its filters too, and so do statements targeting
    them (Communication 2.1.3). Only an id a client chose can be named before it is stored."""
    passing = {i: index.inherited_keys(state.keys_of(i)) for i in new_ids}
    rows: list[tuple[str, str, int]] = []
    for _ in range(MAX_REF_DEPTH):
        if not passing:
            break
        referrers = await tx.statements.find_referrers(sorted(passing))
        onward: dict[str, set[index.IndexKey]] = {}
        for target, seq, referrer in referrers:
            rows += [(kind, value, seq) for kind, value in passing[target]]
            onward.setdefault(referrer, set()).update(passing[target])
        passing = onward
    await tx.statements.add_index_keys(rows)


def _as_committed(
    outcome: Outcome, seq_of: dict[str, int], voided_now: set[str], voided_early: set[str]
) -> Outcome:
    """The outcome with each new statement's place, and its own statements voided early."""
    if isinstance(outcome, XapiError):
        return outcome
    places = [(seq_of[d.id], d.id in voided_now) for d in outcome.new]
    early = {d.id for d in outcome.new} & voided_early
    voided_ids = sorted(set(outcome.voided_ids) | early) if early else outcome.voided_ids
    return replace(outcome, voided_ids=voided_ids, places=places)


async def store_alone(ctx: LrsContext, request: BatchRequest) -> Outcome:
    """One batch in its own transaction, tried again if another process took one of its ids."""
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            (outcome,) = await _store_group(ctx, [request])
            return outcome
        except StatementIdTaken:
            # Stored meanwhile by another process: now that copy is seen, the same statement
            # is accepted and a different one is a 409.
            if attempt == STORE_ATTEMPTS:
                break
    return Conflict("statements with these ids were being stored at the same time; send again")


class Committer(Protocol):
    """Stores a request's batch, whole or not at all, and says what it stored."""

    async def store(self, request: BatchRequest) -> Stored: ...

    async def close(self) -> None:
        """Once the batches handed over are stored, let go of what storing them holds."""


class GroupCommitter:
    """Queues batches and stores them in groups, one group at a time."""

    def __init__(self, ctx: LrsContext) -> None:
        self.ctx = ctx
        self._waiting: list[tuple[BatchRequest, asyncio.Future[Outcome]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def store(self, request: BatchRequest) -> Stored:
        outcome = await self.outcome_of(request)
        if isinstance(outcome, XapiError):
            raise outcome
        return outcome

    async def outcome_of(self, request: BatchRequest) -> Outcome:
        """The batch's outcome, a refusal included, once its group has committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._drainer is None or self._drainer.done():
            # A task of its own: a client that disconnects must not cancel others' writes.
            self._drainer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)

    async def close(self) -> None:
        if self._drainer is not None:
            await asyncio.gather(self._drainer, return_exceptions=True)

    def _next_group(self) -> list[tuple[BatchRequest, asyncio.Future[Outcome]]]:
        group: list[tuple[BatchRequest, asyncio.Future[Outcome]]] = []
        size = 0
        while self._waiting and (
            not group or size + len(self._waiting[0][0].drafts) <= MAX_GROUP_STATEMENTS
        ):
            item = self._waiting.pop(0)
            group.append(item)
            size += len(item[0].drafts)
        return group

    async def _drain(self) -> None:
        while self._waiting:
            group = self._next_group()
            requests = [request for request, _ in group]
            try:
                outcomes = (
                    await _store_group(self.ctx, requests)
                    if len(group) > 1
                    else [await store_alone(self.ctx, requests[0])]
                )
            except StatementIdTaken:
                # Another process stored one of these ids: each batch on its own, with retries.
                outcomes = [await store_alone(self.ctx, request) for request in requests]
            except BaseException as error:  # every waiting request must hear of it
                for _, future in group:
                    if not future.done():
                        future.set_exception(error)
                if not isinstance(error, Exception):
                    raise
                continue
            # What this process just committed is visible: the next answer must say so.
            self.ctx.consistency = None
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
