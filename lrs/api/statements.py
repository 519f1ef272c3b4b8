"""The Statement resource: PUT, POST, GET and HEAD on /xapi/statements (Communication 2.1)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lrs.api import _http
from lrs.api.auth import READ_STATEMENTS, WRITE_STATEMENTS, authorize
from lrs.errors import BadRequest, invalid
from lrs.ops.context import LrsContext
from lrs.ops.get_statements import Reader, StatementPage, find_statements, get_statement
from lrs.ops.save_statements import Attachment, Writer, save_statements
from lrs.store.credentials import StoredCredential
from lrs.xapi import formats, query
from lrs.xapi.attachments import (
    AttachmentPart,
    build_multipart,
    check_attachments,
    parse_statement_request,
)
from lrs.xapi.prepare import Authority, authority_agent
from lrs.xapi.signatures import check_signed_statement
from lrs.xapi.validate import is_uuid, statement_errors

MORE_PATH = "/xapi/statements?more="


def _context(request: Request) -> LrsContext:
    ctx: LrsContext = request.app.state.lrs
    return ctx


def _writer(request: Request, credential: StoredCredential) -> Writer:
    homepage = _context(request).settings.authority_homepage
    agent = authority_agent(credential.name, credential.key, homepage)
    may_define = bool({"define", "all"}.intersection(credential.scopes))
    return Writer(Authority(credential.key, agent), may_define)


def _check_statements(statements: list[Any], version: str, batch: bool) -> None:
    errors: list[str] = []
    for position, statement in enumerate(statements):
        path = f"statements[{position}]" if batch else "statement"
        errors += statement_errors(statement, version, path)
    if errors:
        raise invalid(errors)


async def _read_statements(request: Request) -> tuple[list[dict[str, Any]], bool, list[Attachment]]:
    """The posted statements (one or a batch), validated, with their attachments checked."""
    ctx = _context(request)
    body = await _http.read_body(request, ctx.settings.max_body_bytes)
    parsed = parse_statement_request(body, request.headers.get("content-type", ""))
    document = _http.parse_json(parsed.statement_body, "statement body")
    batch = isinstance(document, list)
    statements = document if batch else [document]
    if batch and not statements:
        raise BadRequest("the statement batch is empty")
    _check_statements(statements, _http.xapi_version(request), batch)
    check_attachments(statements, parsed.parts)
    for statement in statements:
        check_signed_statement(statement, parsed.parts)
    attachments = [Attachment(p.sha2, p.content_type, p.content) for p in parsed.parts.values()]
    return statements, batch, attachments


async def put_statement(request: Request) -> Response:
    credential = await authorize(request, WRITE_STATEMENTS, "write statements")
    params = _http.query_params(request)
    statement_id = params.get("statementId")
    if statement_id is None:
        raise BadRequest("PUT needs the statementId parameter")
    if not is_uuid(statement_id):
        raise BadRequest(f"statementId: must be a UUID, got {statement_id!r}")
    extra = set(params) - {"statementId"}
    if extra:
        raise BadRequest(f"unknown parameter(s) for PUT statements: {', '.join(sorted(extra))}")
    statements, batch, attachments = await _read_statements(request)
    if batch:
        raise BadRequest("PUT takes a single statement, not an array")
    statement = statements[0]
    if "id" in statement and str(statement["id"]).lower() != statement_id.lower():
        raise BadRequest("statement.id: differs from the statementId parameter")
    statement = {**statement, "id": statement_id.lower()}
    version = _http.xapi_version(request)
    await save_statements(
        _context(request), [statement], _writer(request, credential), version, attachments
    )
    return Response(status_code=204, headers=_last_modified())


async def post_statements(request: Request) -> Response:
    credential = await authorize(request, WRITE_STATEMENTS, "write statements")
    if request.query_params:
        raise BadRequest(
            f"POST statements takes no parameters, got {', '.join(request.query_params)}"
        )
    statements, _, attachments = await _read_statements(request)
    version = _http.xapi_version(request)
    ids = await save_statements(
        _context(request), statements, _writer(request, credential), version, attachments
    )
    return _http.json_response(ids, 200, _last_modified())


def _last_modified(last_stored_ms: int | None = None) -> dict[str, str]:
    """Last-Modified is the newest `stored` served (2.1.3); Consistent-Through comes from
    ConsistentThroughMiddleware on every response."""
    return {} if last_stored_ms is None else {"Last-Modified": _http.http_date(last_stored_ms)}


def _multipart_response(page: StatementPage, body: bytes) -> Response:
    parts = [AttachmentPart(a.sha2, a.content_type, a.content) for a in page.attachments]
    multipart, content_type = build_multipart(body, parts)
    headers = _last_modified(page.last_stored_ms)
    return Response(multipart, 200, headers, media_type=content_type)


async def get_statements(request: Request) -> Response:
    credential = await authorize(request, READ_STATEMENTS, "read statements")
    # statements/read/mine alone limits reads to what this credential stored.
    only_mine = not (READ_STATEMENTS - {"statements/read/mine"}).intersection(credential.scopes)
    reader = Reader(credential.key, only_mine)
    ctx = _context(request)
    params = _http.query_params(request)
    languages = formats.parse_accept_language(request.headers.get("accept-language"))
    version = _http.xapi_version(request)
    after_seq = None
    if "more" in params:
        if len(params) > 1:
            raise BadRequest("'more' cannot be combined with other parameters")
        cursor = query.decode_cursor(params["more"])
        params, after_seq = cursor.params, cursor.after_seq
    single = query.parse_single(params)
    if single is not None:
        page = await get_statement(ctx, single, reader, languages)
        wants_attachments = single.attachments
    else:
        many = query.parse_query(
            params, version, ctx.settings.page_size, ctx.settings.max_page_size
        )
        page = await find_statements(ctx, many, reader, languages, after_seq)
        wants_attachments = many.attachments
    body = _page_body(page, single is not None)
    if wants_attachments:
        return _multipart_response(page, body)
    return _http.raw_json_response(body, 200, _last_modified(page.last_stored_ms))


def _page_body(page: StatementPage, single: bool) -> bytes:
    if single:
        return page.statements_json[0]
    more = MORE_PATH + query.encode_cursor(page.next_cursor) if page.next_cursor else ""
    return (
        b'{"statements":['
        + b",".join(page.statements_json)
        + b'],"more":'
        + orjson.dumps(more)
        + b"}"
    )
