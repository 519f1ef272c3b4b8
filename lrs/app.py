"""create_app(settings): routes, middleware, error handling and the store's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lrs.api import about, activities, agents, documents, statements
from lrs.api._http import json_response
from lrs.api.alternate import AlternateRequestMiddleware
from lrs.api.consistency import ConsistentThroughMiddleware
from lrs.api.paths import PathNormaliserMiddleware
from lrs.api.version import XapiVersionMiddleware
from lrs.config import Settings
from lrs.errors import XapiError
from lrs.ops.context import LrsContext
from lrs.ops.credentials import CredentialChecker
from lrs.plugins import Plugin, installed_plugins
from lrs.store.sql import SqlStore

log = logging.getLogger("lrs")

ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Experience-API-Version",
    "If-Match",
    "If-None-Match",
    "Accept-Language",
]
EXPOSED_HEADERS = [
    "ETag",
    "Last-Modified",
    "X-Experience-API-Consistent-Through",
    "X-Experience-API-Version",
    "Location",
]


def _routes() -> list[Route]:
    return [
        Route("/xapi/about", about.get_about, methods=["GET"]),
        Route("/xapi/statements", statements.get_statements, methods=["GET"]),
        Route("/xapi/statements", statements.put_statement, methods=["PUT"]),
        Route("/xapi/statements", statements.post_statements, methods=["POST"]),
        Route("/xapi/activities/state", documents.state, methods=documents.METHODS),
        Route("/xapi/activities/profile", documents.activity_profile, methods=documents.METHODS),
        Route("/xapi/agents/profile", documents.agent_profile, methods=documents.METHODS),
        Route("/xapi/activities", activities.get_activity, methods=["GET"]),
        Route("/xapi/agents", agents.get_agent, methods=["GET"]),
    ]


async def _xapi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, XapiError)
    return json_response(exc.to_json(), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    name = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return json_response(
        {"error": name, "message": exc.detail}, exc.status_code, dict(exc.headers or {})
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return json_response({"error": "InternalError", "message": "the LRS failed; see its log"}, 500)


def create_app(settings: Settings | None = None, plugins: list[Plugin] | None = None) -> Starlette:
    """The ASGI application. The store opens (and its schema is created) on startup.

    `plugins` defaults to the installed plugins `settings.plugins` names; tests pass exactly
    the ones they need.
    """
    settings = settings or Settings.from_env()
    active = installed_plugins(settings.plugins) if plugins is None else plugins

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = SqlStore(settings.database_url)
        await store.create_schema()
        ctx = LrsContext(store=store, settings=settings)
        for plugin in active:
            ctx.listeners.extend(plugin.listeners(ctx))
            await plugin.startup(ctx)
        app.state.lrs = ctx
        app.state.credentials = CredentialChecker(ctx)
        try:
            yield
        finally:
            for plugin in active:
                await plugin.shutdown()
            if ctx.committer is not None:
                await ctx.committer.close()
            await store.close()

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    middleware = [
        Middleware(PathNormaliserMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"],
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=86400,
        ),
        Middleware(AlternateRequestMiddleware, max_body_bytes=settings.max_body_bytes),
        Middleware(XapiVersionMiddleware, default_version=settings.default_xapi_version),
        Middleware(ConsistentThroughMiddleware),
    ]
    routes = _routes() + [route for plugin in active for route in plugin.routes()]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            XapiError: _xapi_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
