"""Fixtures for the certificates plugin: an app with the courses and certificates plugins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from certificates import follow, ops
from certificates.plugin import CertificatesPlugin
from courses import ops as course_ops
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings
from courses.plugin import CoursesPlugin
from lrs.app import create_app
from lrs.config import Settings
from tests.conftest import asgi_client, xapi_client
from tests.courses._clients import ClientFor, role_clients

Settle = Callable[[], Awaitable[int]]


@pytest.fixture
def courses_settings() -> CoursesSettings:
    return CoursesSettings(gap_wait_seconds=1.0, aggregate_delay_seconds=0.01)


@pytest.fixture
def courses_plugin(courses_settings: CoursesSettings) -> CoursesPlugin:
    return CoursesPlugin(courses_settings, aggregate_in_background=False)


@pytest.fixture
def cert_plugin(courses_settings: CoursesSettings) -> CertificatesPlugin:
    return CertificatesPlugin(courses_settings, follow_in_background=False)


@pytest.fixture
async def cert_app(
    settings: Settings, courses_plugin: CoursesPlugin, cert_plugin: CertificatesPlugin
) -> AsyncIterator[Starlette]:
    # Installed plugins come in name order too: certificates' full paths before courses' Mount.
    application = create_app(settings, plugins=[cert_plugin, courses_plugin])
    async with application.router.lifespan_context(application):
        await course_ops.load_catalog(courses_plugin.context, DEFAULT_CATALOG_DIR)
        yield application


@pytest.fixture
def cx(cert_app: Starlette, cert_plugin: CertificatesPlugin) -> ops.CertContext:
    return cert_plugin.context


@pytest.fixture
def settle(courses_plugin: CoursesPlugin, cx: ops.CertContext) -> Settle:
    """What the background tasks do: fold statements into progress, then decide certificates."""

    async def catch_up() -> int:
        assert courses_plugin.aggregator is not None
        await courses_plugin.aggregator.catch_up()
        return await follow.catch_up(cx)

    return catch_up


@pytest.fixture
async def xapi(cert_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An xAPI client with a Basic credential, as Moodle, a cmi5 LMS or a sheet importer posts."""
    async with xapi_client(cert_app) as http:
        yield http


@pytest.fixture
async def anonymous(cert_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(cert_app) as http:
        yield http


@pytest.fixture
async def api_as(cert_app: Starlette, courses_plugin: CoursesPlugin) -> AsyncIterator[ClientFor]:
    """api_as(role): a client holding a bearer token for a new user with that role."""
    async with role_clients(cert_app, courses_plugin.context) as client_for:
        yield client_for


@pytest.fixture
async def admin(api_as: ClientFor) -> httpx.AsyncClient:
    return await api_as("admin")
