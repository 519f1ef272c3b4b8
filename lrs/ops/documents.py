"""Use cases of the State, Activity Profile and Agent Profile resources (Communication 2.2-3.1)."""

from __future__ import annotations

from dataclasses import dataclass

from lrs.errors import NotFound
from lrs.ops.context import LrsContext
from lrs.store.documents import DocumentIds, StoredDocument
from lrs.store.sql import Transaction
from lrs.xapi import documents
from lrs.xapi.documents import DocumentScope, Preconditions, Resource, StoredContent


@dataclass(frozen=True)
class IncomingDocument:
    """A PUT or POST body with its Content-Type."""

    content_type: str
    content: bytes


async def _locked_current(
    tx: Transaction, scope: DocumentScope, doc_id: str
) -> StoredDocument | None:
    """The stored document, read under its write lock so the caller's check and write are atomic."""
    await tx.documents.lock_document(scope, doc_id)
    return await tx.documents.get_document(scope, doc_id)


def _content(stored: StoredDocument | None) -> StoredContent | None:
    return (
        None if stored is None else StoredContent(stored.content_type, stored.content, stored.etag)
    )


async def get_document(ctx: LrsContext, scope: DocumentScope, doc_id: str) -> StoredDocument:
    async with ctx.store.read() as tx:
        stored = await tx.documents.get_document(scope, doc_id)
    if stored is None:
        raise NotFound(f"no document with id {doc_id!r} here")
    return stored


async def find_document_ids(
    ctx: LrsContext, scope: DocumentScope, since_ms: int | None
) -> DocumentIds:
    async with ctx.store.read() as tx:
        return await tx.documents.find_document_ids(scope, since_ms)


async def save_document(
    ctx: LrsContext,
    resource: Resource,
    scope: DocumentScope,
    doc_id: str,
    incoming: IncomingDocument,
    pre: Preconditions,
    version: str,
) -> None:
    """PUT: store the document as sent, replacing any stored one, if the preconditions hold."""
    async with ctx.store.write() as tx:
        current = await _locked_current(tx, scope, doc_id)
        documents.check_preconditions(current.etag if current else None, pre)
        documents.check_put_headers(resource, version, current is not None, pre)
        etag = documents.etag_of(incoming.content)
        await tx.documents.save_document(
            scope, doc_id, incoming.content_type, incoming.content, etag, ctx.clock.now_ms()
        )


async def merge_document(
    ctx: LrsContext,
    scope: DocumentScope,
    doc_id: str,
    incoming: IncomingDocument,
    pre: Preconditions,
) -> None:
    """POST: store a new document, or merge JSON objects into the stored one (2.2)."""
    async with ctx.store.write() as tx:
        current = await _locked_current(tx, scope, doc_id)
        documents.check_preconditions(current.etag if current else None, pre)
        content = documents.posted_content(
            _content(current), incoming.content_type, incoming.content
        )
        content_type = current.content_type if current is not None else incoming.content_type
        await tx.documents.save_document(
            scope, doc_id, content_type, content, documents.etag_of(content), ctx.clock.now_ms()
        )


async def delete_document(
    ctx: LrsContext, scope: DocumentScope, doc_id: str, pre: Preconditions
) -> None:
    """DELETE one document; a missing one is fine, unless If-Match asked for it to exist."""
    async with ctx.store.write() as tx:
        current = await _locked_current(tx, scope, doc_id)
        documents.check_preconditions(current.etag if current else None, pre)
        if current is not None:
            await tx.documents.delete_document(scope, doc_id)


async def delete_documents(ctx: LrsContext, scope: DocumentScope) -> None:
    """DELETE every State document of an Activity and Agent (and registration, if given) (2.3)."""
    async with ctx.store.write() as tx:
        await tx.documents.delete_documents(scope)
