"""The document resources: /xapi/activities/state, /xapi/activities/profile, /xapi/agents/profile.

PUT, POST, GET, HEAD and DELETE (Communication 2.2-2.7); concurrency by ETag (3.1).
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lrs.api import _http
from lrs.api.auth import READ_PROFILE, READ_STATE, WRITE_PROFILE, WRITE_STATE, authorize
from lrs.ops import documents as ops
from lrs.ops.context import LrsContext
from lrs.xapi import documents
from lrs.xapi.documents import DocumentParams, Preconditions, Resource

METHODS = ["GET", "PUT", "POST", "DELETE"]  # Starlette adds HEAD wherever GET is allowed


def _context(request: Request) -> LrsContext:
    ctx: LrsContext = request.app.state.lrs
    return ctx


def _preconditions(request: Request) -> Preconditions:
    return Preconditions(request.headers.get("if-match"), request.headers.get("if-none-match"))


async def _incoming(request: Request) -> ops.IncomingDocument:
    """The body, byte for byte, with its Content-Type (any type may be stored, 2.2)."""
    body = await _http.read_body(request, _context(request).settings.max_body_bytes)
    content_type = request.headers.get("content-type") or documents.DEFAULT_CONTENT_TYPE
    return ops.IncomingDocument(content_type, body)


async def _get(request: Request, params: DocumentParams) -> Response:
    head = request.method == "HEAD"
    ctx = _context(request)
    if params.doc_id is None:
        found = await ops.find_document_ids(ctx, params.scope, params.since_ms)
        body = orjson.dumps(found.ids)
        headers = {"ETag": documents.etag_of(body)}
        if found.last_modified_ms is not None:
            headers["Last-Modified"] = _http.http_date(found.last_modified_ms)
        if head:
            return _head(body, "application/json", headers)
        return _http.raw_json_response(body, 200, headers)
    stored = await ops.get_document(ctx, params.scope, params.doc_id)
    headers = {"ETag": stored.etag, "Last-Modified": _http.http_date(stored.updated_ms)}
    if head:
        return _head(stored.content, stored.content_type, headers)
    # Content-Type goes in the headers, not media_type, so Starlette adds no charset to it.
    return Response(stored.content, 200, {**headers, "Content-Type": stored.content_type})


def _head(content: bytes, content_type: str, headers: dict[str, str]) -> Response:
    """HEAD: the GET's headers, Content-Length included, without the body (Communication 1.1)."""
    return Response(
        b"", 200, {**headers, "Content-Type": content_type, "Content-Length": str(len(content))}
    )


async def _write(request: Request, resource: Resource, params: DocumentParams) -> Response:
    ctx = _context(request)
    pre = _preconditions(request)
    scope, doc_id = params.scope, params.doc_id
    if request.method == "DELETE":
        if doc_id is None:
            await ops.delete_documents(ctx, scope)
        else:
            await ops.delete_document(ctx, scope, doc_id, pre)
        return Response(status_code=204)
    assert doc_id is not None  # parse_document_params requires it for PUT and POST
    incoming = await _incoming(request)
    if request.method == "PUT":
        await ops.save_document(
            ctx, resource, scope, doc_id, incoming, pre, _http.xapi_version(request)
        )
    else:
        await ops.merge_document(ctx, scope, doc_id, incoming, pre)
    return Response(status_code=204)


async def _serve(
    request: Request, resource: Resource, read: frozenset[str], write: frozenset[str]
) -> Response:
    reading = request.method in ("GET", "HEAD")
    action = f"{'read' if reading else 'write'} {resource.name} documents"
    await authorize(request, read if reading else write, action)
    params = documents.parse_document_params(
        resource, _http.query_params(request), request.method, _http.xapi_version(request)
    )
    if reading:
        return await _get(request, params)
    return await _write(request, resource, params)


async def state(request: Request) -> Response:
    return await _serve(request, documents.STATE, READ_STATE, WRITE_STATE)


async def activity_profile(request: Request) -> Response:
    return await _serve(request, documents.ACTIVITY_PROFILE, READ_PROFILE, WRITE_PROFILE)


async def agent_profile(request: Request) -> Response:
    return await _serve(request, documents.AGENT_PROFILE, READ_PROFILE, WRITE_PROFILE)
