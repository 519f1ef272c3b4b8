"""Statements made ready to store before any database work: ids, index keys, JSON bodies."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import orjson

from lrs.errors import BadRequest
from lrs.store.sql import IndexRowEncoder
from lrs.types import Statement
from lrs.xapi import activities, index, jsonio
from lrs.xapi.prepare import Authority, prepare_statement, stored_properties, without_version


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


class Draft:
    """A statement ready to store but for its `stored` instant.

    The writer process (lrs.ops.writer) receives a draft as its JSON and the few facts the
    group commit needs (id, filter keys, StatementRef target, voiding), not as the statement's
    trees of dicts, which would cost more to pickle and unpickle than all the rest of its
    work on them. A statement is decoded there only when a resend must be compared.
    """

    __slots__ = (
        "_prepared",
        "_sent",
        "body_head",
        "client_id",
        "id",
        "index_heads",
        "keys",
        "ref_target",
        "timestamped",
        "versioned",
        "voiding",
    )

    def __init__(
        self,
        sent: Statement,
        prepared: Statement,
        keys: set[index.IndexKey],
        body_head: bytes,
        index_heads: list[bytes] | None = None,
    ) -> None:
        self.id = str(prepared["id"])
        self.client_id = "id" in sent  # only ids clients chose can be stored already
        self.keys = keys  # its own filter keys, before any StatementRef inheritance
        # Its index rows as the store encodes them ahead (SqlStore.index_row_encoder), or None.
        self.index_heads = index_heads
        self.body_head = body_head  # the prepared statement as JSON, its closing brace cut off
        self.ref_target = index.ref_target_key(prepared)
        self.voiding = index.is_voiding(prepared)
        self.timestamped = "timestamp" in sent
        self.versioned = "version" in sent
        self._sent: Statement | None = sent
        self._prepared: Statement | None = prepared

    @property
    def sent(self) -> Statement:
        """As the client sent it, for comparing a resend (lrs.xapi.compare.equivalent).

        A draft that crossed to the writer process rebuilds it from the prepared statement:
        the id (lower-cased), authority and normalised context activities compare alike,
        and a `version` the LRS added is dropped again, as the client did not send it.
        """
        if self._sent is None:
            prepared = self.prepared
            self._sent = prepared if self.versioned else without_version(prepared)
        return self._sent

    @property
    def prepared(self) -> Statement:
        """With the id, authority and version the LRS gave it."""
        if self._prepared is None:
            self._prepared = orjson.loads(self.body_head + b"}")
        return self._prepared

    def body(self, stored: str) -> bytes:
        """The JSON stored and served: the prepared statement plus `stored` (and timestamp)."""
        return self.body_head + _stored_tail(self.timestamped, stored)

    def as_stored(self, stored: str) -> Statement:
        """The statement as `body` stores it."""
        return {**self.prepared, **stored_properties(self.timestamped, stored)}

    @property
    def plain(self) -> bool:
        """Neither a StatementRef nor a statement with an id of the client's: nothing in a
        group can inherit its keys or pass it theirs, so its encoded index rows are its
        keys' only use."""
        return not self.client_id and self.ref_target is None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A plain draft's keys do not cross when its index rows are encoded: they would
        # double what is pickled and unpickled, and the writer has no use for them.
        keys = () if self.index_heads is not None and self.plain else tuple(self.keys)
        facts = (self.id, self.client_id, keys, self.body_head, self.ref_target)
        flags = (self.voiding, self.timestamped, self.versioned)
        return _arrived_draft, (*facts, *flags, self.index_heads)


@functools.lru_cache(maxsize=8)
def _stored_tail(timestamped: bool, stored: str) -> bytes:
    """What ends a body: `stored` (and `timestamp`), the same for a whole group's drafts."""
    return b"," + orjson.dumps(stored_properties(timestamped, stored))[1:]


def _arrived_draft(
    statement_id: str,
    client_id: bool,
    keys: tuple[index.IndexKey, ...],
    body_head: bytes,
    ref_target: str | None,
    voiding: bool,
    timestamped: bool,
    versioned: bool,
    index_heads: list[bytes] | None,
) -> Draft:
    """A draft as unpickled: its statement is decoded from JSON when first asked for."""
    draft = Draft.__new__(Draft)
    draft.id, draft.client_id, draft.keys = statement_id, client_id, set(keys)
    draft.body_head, draft.ref_target = body_head, ref_target
    draft.voiding, draft.timestamped, draft.versioned = voiding, timestamped, versioned
    draft.index_heads = index_heads
    draft._sent, draft._prepared = None, None
    return draft


@dataclass
class BatchRequest:
    """One request's statements: stored together or not at all."""

    drafts: list[Draft]
    writer: Writer
    attachments: list[Attachment]
    # The activity definitions its statements give, merged in order (activities.definitions_in)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def definitions_of(self, new: list[Draft]) -> dict[str, dict[str, Any]]:
        """The definitions given by `new`, the drafts the batch newly stores (resends define
        nothing)."""
        if len(new) == len(self.drafts):
            return self.definitions
        return activities.definitions_in([d.prepared for d in new])


def check_unique_ids(statements: list[Statement]) -> None:
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


def make_drafts(
    statements: list[Statement],
    writer: Writer,
    version: str,
    encode_index: IndexRowEncoder | None = None,
) -> list[Draft]:
    drafts = []
    for sent in statements:
        prepared = prepare_statement(sent, writer.authority, version)
        body_head = jsonio.dumps(prepared, f"statement {prepared['id']}")[:-1]
        keys = index.index_keys(prepared, writer.authority.credential_key)
        heads = encode_index(keys) if encode_index is not None else None
        drafts.append(Draft(sent, prepared, keys, body_head, heads))
    return drafts


def make_request(
    statements: list[Statement],
    writer: Writer,
    version: str,
    attachments: list[Attachment],
    encode_index: IndexRowEncoder | None = None,
) -> BatchRequest:
    """The batch ready for a write; `encode_index` encodes each statement's index rows
    before it (SqlStore.index_row_encoder), off the writes' turn."""
    drafts = make_drafts(statements, writer, version, encode_index)
    definitions = activities.definitions_in([d.prepared for d in drafts])
    return BatchRequest(drafts, writer, attachments, definitions)
