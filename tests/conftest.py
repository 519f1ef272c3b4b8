"""Shared fixtures: an app per test on SQLite or PostgreSQL, clients, credentials, a live server."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from lrs.app import create_app
from lrs.config import Settings
from lrs.ops import credentials as credentials_ops
from lrs.ops.context import LrsContext
from lrs.ops.credentials import add_credential
from lrs.store.sql import SqlStore

POSTGRES_URL = os.environ.get("LRS_TEST_POSTGRES_URL")
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def asyncpg_url(url: str) -> str:
    """postgresql://... as SQLAlchemy's asyncpg URL."""
    scheme, rest = url.split("://", 1)
    return "postgresql+asyncpg://" + rest if scheme in ("postgresql", "postgres") else url


async def _create_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(autouse=True, scope="session")
def cheap_secret_hashing() -> Iterator[None]:
    """Secrets are hashed at scrypt's production cost (~0.1 s) when a credential is made and
    when it is first checked: twice a test, most of the suite's time. Tests use a low cost;
    the code path and hash format stay the production ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials_ops, "SCRYPT_N", 2**4)
        yield


# PostgreSQL test databases emptied after use and ready for the next test: creating and
# dropping a database costs ~0.5 s a test, emptying its schema ~0.01 s.
_EMPTY_DATABASES: list[str] = []


async def _empty_database(name: str) -> None:
    """Back to what CREATE DATABASE gives: no connections, an empty public schema."""
    import asyncpg

    assert POSTGRES_URL is not None
    conn = await asyncpg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    async def drop_all() -> None:
        for name in _EMPTY_DATABASES:
            await _drop_database(name)

    if _EMPTY_DATABASES:
        asyncio.run(drop_all())


@pytest.fixture(params=ENGINES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each engine (PostgreSQL only with LRS_TEST_POSTGRES_URL)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"
        return
    if not POSTGRES_URL:
        pytest.skip("LRS_TEST_POSTGRES_URL is not set")
    if _EMPTY_DATABASES:
        name = _EMPTY_DATABASES.pop()
    else:
        name = f"lrs_test_{uuid.uuid4().hex[:12]}"
        await _create_database(name)
    base = asyncpg_url(POSTGRES_URL).rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        try:
            await _empty_database(name)
        except Exception:
            await _drop_database(name)
        else:
            _EMPTY_DATABASES.append(name)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings, plugins=[])
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def lrs(app: Starlette) -> LrsContext:
    ctx: LrsContext = app.state.lrs
    return ctx


@dataclass(frozen=True)
class Credential:
    key: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


async def make_credential(ctx: LrsContext, scopes: list[str], name: str = "tester") -> Credential:
    made = await add_credential(ctx, name, scopes)
    return Credential(made.key, made.secret)


@pytest.fixture
async def credential(lrs: LrsContext) -> Credential:
    return await make_credential(lrs, ["all"])


def asgi_client(app: Starlette, **options: Any) -> httpx.AsyncClient:
    """A client talking to the app in-process (no server); `options` go to httpx."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **options
    )


@asynccontextmanager
async def xapi_client(
    app: Starlette, credential: Credential | None = None, version: str = "1.0.3"
) -> AsyncIterator[httpx.AsyncClient]:
    """An xAPI client talking to the app in-process, with a credential (a new `all` one if none)."""
    if credential is None:
        credential = await make_credential(app.state.lrs, ["all"], name="sources")
    async with asgi_client(
        app, auth=credential.auth, headers={"X-Experience-API-Version": version}
    ) as http:
        yield http


@pytest.fixture
async def client(app: Starlette, credential: Credential) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated xAPI 1.0.3 client talking to the app in-process."""
    async with xapi_client(app, credential) as http:
        yield http


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credential and no version header."""
    async with asgi_client(app) as http:
        yield http


def statement(**overrides: Any) -> dict[str, Any]:
    """A small valid statement; keyword arguments replace its properties."""
    base: dict[str, Any] = {
        "actor": {"objectType": "Agent", "mbox": "mailto:amina@example.org", "name": "Amina"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {"id": "https://acbc.iom.int/courses/ibm-101", "objectType": "Activity"},
    }
    base.update(overrides)
    return base


# --- a real server, for clients that speak HTTP themselves (tincan) -------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    credential: Credential


async def _prepare_database(settings: Settings) -> Credential:
    """Create the schema and a credential before the server starts, through the same ops."""
    store = SqlStore(settings.database_url)
    try:
        await store.create_schema()
        return await make_credential(LrsContext(store=store, settings=settings), ["all"])
    finally:
        await store.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn serving the LRS on a free loopback port, in a thread, on a fresh SQLite file."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/live.sqlite3")
    credential = asyncio.run(_prepare_database(settings))
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, plugins=[]), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}/xapi", credential)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
