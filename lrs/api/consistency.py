"""X-Experience-API-Consistent-Through on every Statement resource response (2.1.3)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrs.ops.get_statements import get_consistent_through
from lrs.xapi.prepare import format_instant_ms

HEADER = b"x-experience-api-consistent-through"


class ConsistentThroughMiddleware:
    def __init__(self, app: ASGIApp, path: str = "/xapi/statements") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER for name, _ in headers):
                    through = await get_consistent_through(scope["app"].state.lrs)
                    headers.append((HEADER, format_instant_ms(through).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
