"""Fixtures for the courses plugin: an app with the plugin and catalogue, xAPI and API clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from courses import ops
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings
from courses.plugin import CoursesPlugin
from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import asgi_client, xapi_client
from tests.courses._clients import ClientFor, role_clients


@pytest.fixture
def courses_settings() -> CoursesSettings:
    return CoursesSettings(gap_wait_seconds=1.0, aggregate_delay_seconds=0.01)


@pytest.fixture
def plugin(courses_settings: CoursesSettings) -> CoursesPlugin:
    """The plugin with its aggregator driven by the tests (settle), not by a background task."""
    return CoursesPlugin(courses_settings, aggregate_in_background=False)


@pytest.fixture
async def courses_app(settings: Settings, plugin: CoursesPlugin) -> AsyncIterator[Starlette]:
    application = create_app(settings, plugins=[plugin])
    async with application.router.lifespan_context(application):
        await ops.load_catalog(plugin.context, DEFAULT_CATALOG_DIR)
        yield application


@pytest.fixture
def cc(courses_app: Starlette, plugin: CoursesPlugin) -> ops.CoursesContext:
    return plugin.context


@pytest.fixture
def settle(plugin: CoursesPlugin) -> Callable[[], Awaitable[int]]:
    """Let the aggregator apply every stored statement (what the background task does)."""

    async def catch_up() -> int:
        assert plugin.aggregator is not None
        return await plugin.aggregator.catch_up()

    return catch_up


@pytest.fixture
async def xapi(courses_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An xAPI client with a Basic credential, as Moodle, a cmi5 LMS or a sheet importer posts."""
    async with xapi_client(courses_app) as http:
        yield http


@pytest.fixture
async def anonymous_api(courses_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(courses_app) as http:
        yield http


@pytest.fixture
async def api_as(courses_app: Starlette, cc: ops.CoursesContext) -> AsyncIterator[ClientFor]:
    """api_as(role): a client holding a bearer token for a new user with that role."""
    async with role_clients(courses_app, cc) as client_for:
        yield client_for


@pytest.fixture
async def admin(api_as: ClientFor) -> httpx.AsyncClient:
    return await api_as("admin")
