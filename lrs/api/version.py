"""X-Experience-API-Version: each /xapi request names one; each response says which."""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.api._http import VERSION_STATE

LATEST = "2.0.0"
SUPPORTED = ("1.0.3", LATEST)
_V1 = re.compile(r"^1\.0(\.\d+)?$")
_V2 = re.compile(r"^2\.0(\.\d+)?$")
# Paths a client may call without naming a version (it asks which ones we serve).
UNVERSIONED = ("/xapi/about",)


def normalise_version(raw: str | None) -> str | None:
    """1.0.x is served as 1.0.3 and 2.0.x as 2.0.0; anything else is unsupported."""
    if raw is None:
        return None
    raw = raw.strip()
    if _V1.match(raw):
        return "1.0.3"
    if _V2.match(raw):
        return LATEST
    return None


class XapiVersionMiddleware:
    def __init__(self, app: ASGIApp, default_version: str = LATEST, prefix: str = "/xapi") -> None:
        self.app = app
        self.prefix = prefix
        # The version a response names when the request names none: a deployment serving
        # mostly 1.0.3 clients (Moodle) answers those in 1.0.3.
        self.default_version = normalise_version(default_version) or LATEST

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        raw = Headers(scope=scope).get("x-experience-api-version")
        version = normalise_version(raw)
        exempt = scope["method"] == "OPTIONS" or scope["path"].rstrip("/") in UNVERSIONED
        if version is None and not exempt:
            await _reject(send, raw, self.default_version)
            return
        version = version or self.default_version
        scope.setdefault("state", {})[VERSION_STATE] = version

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"x-experience-api-version"
                ]
                headers.append((b"x-experience-api-version", version.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_version)


async def _reject(send: Send, raw: str | None, version: str) -> None:
    if raw is None:
        message = "the X-Experience-API-Version header is required"
    else:
        message = (
            f"X-Experience-API-Version {raw!r} is not supported; use one of {', '.join(SUPPORTED)}"
        )
    body = orjson.dumps({"error": "BadRequest", "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-experience-api-version", version.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
