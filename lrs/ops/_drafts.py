"""Statements made ready to store before any database work: ids, index keys, JSON bodies."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from lrs.errors import BadRequest
from lrs.types import Statement
from lrs.xapi import index, jsonio
from lrs.xapi.prepare import Authority, prepare_statement, stored_properties


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


@dataclass
class Draft:
    """A statement ready to store but for its `stored` instant."""

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


@dataclass
class BatchRequest:
    """One request's statements: stored together or not at all."""

    drafts: list[Draft]
    writer: Writer
    attachments: list[Attachment]


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


def make_drafts(statements: list[Statement], writer: Writer, version: str) -> list[Draft]:
    drafts = []
    for sent in statements:
        prepared = prepare_statement(sent, writer.authority, version)
        body_head = jsonio.dumps(prepared, f"statement {prepared['id']}")[:-1]
        keys = index.index_keys(prepared, writer.authority.credential_key)
        drafts.append(Draft(sent, prepared, keys, body_head, "id" in sent))
    return drafts
