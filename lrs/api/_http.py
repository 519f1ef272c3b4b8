"""HTTP helpers shared by the resource modules: bodies, JSON, parameters, dates."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from lrs.errors import BadRequest, PayloadTooLarge
from lrs.xapi import jsonio

VERSION_STATE = "xapi_version"


def xapi_version(request: Request) -> str:
    """The version the request names, normalised by the version middleware."""
    return str(request.scope.get("state", {}).get(VERSION_STATE, "2.0.0"))


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than `limit` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, what: str = "request body") -> Any:
    """JSON from bytes; malformed JSON, bad UTF-8 and absurd nesting are all a 400."""
    if not body.strip():
        raise BadRequest(f"{what} is empty; JSON was expected")
    return jsonio.loads(body, what)


def query_params(request: Request) -> dict[str, str]:
    """Query parameters as a plain dict; a repeated parameter is ambiguous, so a 400."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise BadRequest(f"parameter {name!r} contains a NUL character")
        if name in params:
            raise BadRequest(f"parameter {name!r} is given more than once")
        params[name] = value
    return params


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def raw_json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status, headers, media_type="application/json")


def http_date(epoch_ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(epoch_ms / 1000, tz=UTC), usegmt=True)
