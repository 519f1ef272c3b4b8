"""Alternate Request Syntax (Communication 1.3): a POST whose form carries the real request.

Rewritten into the request it stands for before anything else sees it; 2.0.0 removed it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.api.version import normalise_version

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
# Form fields that are really request headers (Communication 1.3).
HEADER_FIELDS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
}


class AlternateRequestMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or b"method=" not in scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        method = next((v for k, v in query if k == "method"), None)
        if method is None:
            await self.app(scope, receive, send)
            return
        problem = _problem(scope, query, method)
        body = await _read_all(receive, self.max_body_bytes)
        if body is None:
            await _reply(send, 413, "request body is over the limit")
            return
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        version = next((v for k, v in form if k.lower() == "x-experience-api-version"), None)
        version = normalise_version(version or Headers(scope=scope).get("x-experience-api-version"))
        if version == "2.0.0":
            problem = "Alternate Request Syntax is not part of xAPI 2.0.0"
        if problem:
            await _reply(send, 400, problem)
            return
        new_scope, content = _rewrite(scope, method.upper(), form)
        await self.app(new_scope, _replay(content), send)


def _problem(scope: Scope, query: list[tuple[str, str]], method: str) -> str | None:
    if method.upper() not in METHODS:
        return f"method={method!r} is not an HTTP method this resource knows"
    if len(query) > 1:
        return "with Alternate Request Syntax every parameter goes in the form body, not the query"
    content_type = Headers(scope=scope).get("content-type", "")
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return "Alternate Request Syntax needs Content-Type application/x-www-form-urlencoded"
    return None


def _rewrite(scope: Scope, method: str, form: list[tuple[str, str]]) -> tuple[Scope, bytes]:
    headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
    params: list[tuple[str, str]] = []
    content = b""
    for name, value in form:
        lowered = name.lower()
        if lowered in HEADER_FIELDS:
            headers[lowered] = value.encode("latin-1", "replace")
        elif name == "content":
            content = value.encode("utf-8")
        else:
            params.append((name, value))
    headers.pop("content-length", None)
    if content:
        headers["content-length"] = str(len(content)).encode()
        headers.setdefault("content-type", b"application/json")
    if headers.get("content-type", b"").startswith(b"application/x-www-form-urlencoded"):
        headers["content-type"] = b"application/json"
    raw_headers = [
        (k.encode("latin-1"), v if isinstance(v, bytes) else v.encode()) for k, v in headers.items()
    ]
    new_scope = {
        **scope,
        "method": method,
        "headers": raw_headers,
        "query_string": urlencode(params).encode(),
    }
    return new_scope, content


async def _read_all(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(content: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": content, "more_body": False}

    return receive


async def _reply(send: Send, status: int, message: str) -> None:
    body = orjson.dumps(
        {"error": "BadRequest" if status == 400 else "PayloadTooLarge", "message": message}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
