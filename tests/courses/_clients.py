"""Bearer-token clients of the progress API, one per role, for the plugins' test fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from courses import ops
from tests.conftest import asgi_client

PASSWORD = "s3cret-passphrase"
ClientFor = Callable[[str], Awaitable[httpx.AsyncClient]]


@asynccontextmanager
async def role_clients(app: Starlette, cc: ops.CoursesContext) -> AsyncIterator[ClientFor]:
    """client_for(role): a client holding a bearer token for a new user with that role."""
    opened: list[httpx.AsyncClient] = []

    async def client_for(role: str) -> httpx.AsyncClient:
        await ops.add_user(cc, f"{role}-user", role, PASSWORD)
        http = asgi_client(app)
        opened.append(http)
        response = await http.post(
            "/api/v1/auth/token", json={"username": f"{role}-user", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return http

    try:
        yield client_for
    finally:
        for http in opened:
            await http.aclose()
