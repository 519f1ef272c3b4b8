"""State, Activity Profile and Agent Profile documents: read, list, save, delete."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lrs.store import dialects
from lrs.store.tables import DocumentRow
from lrs.xapi.documents import DocumentScope

document_t = DocumentRow.__table__  # type: ignore[attr-defined]

_CONTENT_COLUMNS = ["content_type", "content", "etag", "updated_ms"]
_KEY_COLUMNS = ["kind", "activity_id", "agent_key", "registration", "doc_id"]


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    content_type: str
    content: bytes
    etag: str
    updated_ms: int


@dataclass(frozen=True)
class DocumentIds:
    ids: list[str]
    last_modified_ms: int | None


def _in_scope(scope: DocumentScope) -> list[ColumnElement[bool]]:
    d = document_t.c
    conditions = [
        d.kind == scope.kind,
        d.activity_id == scope.activity_id,
        d.agent_key == scope.agent_key,
    ]
    if scope.registration is not None:
        conditions.append(d.registration == scope.registration)
    return conditions


def _single(scope: DocumentScope, doc_id: str) -> list[ColumnElement[bool]]:
    d = document_t.c
    return [
        d.kind == scope.kind,
        d.activity_id == scope.activity_id,
        d.agent_key == scope.agent_key,
        d.registration == (scope.registration or ""),
        d.doc_id == doc_id,
    ]


def _lock_id(scope: DocumentScope, doc_id: str) -> int:
    """A signed 64-bit number naming one document, for PostgreSQL advisory locks."""
    name = "\x1f".join(
        (scope.kind, scope.activity_id, scope.agent_key, scope.registration or "", doc_id)
    )
    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)


class DocumentQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine

    async def lock_document(self, scope: DocumentScope, doc_id: str) -> None:
        """Hold one document's write lock until the transaction ends.

        Makes check-then-write atomic: of two concurrent conditional writes, the second sees
        the first one's result (Communication 3.1). SQLite write transactions are already
        serialised (BEGIN IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock,
        which also covers documents that do not exist yet.
        """
        if not dialects.is_sqlite(self.engine):
            await self.conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(scope, doc_id)}
            )

    async def get_document(self, scope: DocumentScope, doc_id: str) -> StoredDocument | None:
        d = document_t.c
        stmt = select(d.doc_id, d.content_type, d.content, d.etag, d.updated_ms).where(
            *_single(scope, doc_id)
        )
        row = (await self.conn.execute(stmt)).first()
        if row is None:
            return None
        return StoredDocument(row[0], row[1], bytes(row[2]), row[3], int(row[4]))

    async def find_document_ids(self, scope: DocumentScope, since_ms: int | None) -> DocumentIds:
        """Ids of the documents updated after `since_ms` (exclusive), and the latest update."""
        d = document_t.c
        conditions = _in_scope(scope)
        if since_ms is not None:
            conditions.append(d.updated_ms > since_ms)
        stmt = (
            select(d.doc_id, func.max(d.updated_ms))
            .where(*conditions)
            .group_by(d.doc_id)
            .order_by(d.doc_id)
        )
        rows = (await self.conn.execute(stmt)).all()
        last = max((int(updated) for _, updated in rows), default=None)
        return DocumentIds([doc_id for doc_id, _ in rows], last)

    async def save_document(
        self,
        scope: DocumentScope,
        doc_id: str,
        content_type: str,
        content: bytes,
        etag: str,
        updated_ms: int,
    ) -> None:
        """Insert the document or replace the stored one."""
        row = {
            "kind": scope.kind,
            "activity_id": scope.activity_id,
            "agent_key": scope.agent_key,
            "registration": scope.registration or "",
            "doc_id": doc_id,
            "content_type": content_type,
            "content": content,
            "etag": etag,
            "updated_ms": updated_ms,
        }
        stmt = dialects.upsert(self.engine, document_t, _KEY_COLUMNS, _CONTENT_COLUMNS)
        await self.conn.execute(stmt, [row])

    async def delete_document(self, scope: DocumentScope, doc_id: str) -> bool:
        result = await self.conn.execute(delete(document_t).where(*_single(scope, doc_id)))
        return bool(result.rowcount)

    async def delete_documents(self, scope: DocumentScope) -> int:
        """Delete every document in the scope (all registrations when it names none)."""
        result = await self.conn.execute(delete(document_t).where(*_in_scope(scope)))
        return int(result.rowcount)
