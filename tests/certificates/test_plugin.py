"""Installed as the LRS installs it: both plugins' routes answer, the follower runs by itself."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from certificates.plugin import CertificatesPlugin
from courses import ops as course_ops
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings
from courses.plugin import CoursesPlugin
from lrs.app import create_app
from lrs.config import Settings
from lrs.ops.credentials import add_credential
from lrs.plugins import installed_plugins
from tests.certificates._activity import ibm_101, send
from tests.conftest import Credential, asgi_client, xapi_client


async def test_installed_plugins_serve_courses_and_certificates(settings: Settings) -> None:
    names = [plugin.name for plugin in installed_plugins()]
    assert names.index("certificates") < names.index("courses")  # full paths before the Mount
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        asgi_client(app) as http,
    ):
        assert (await http.get("/.well-known/jwks.json")).json()["keys"][0]["alg"] == "EdDSA"
        assert (await http.get("/api/v1/certificates")).status_code == 401
        assert (await http.get("/api/v1/courses")).status_code == 401


async def test_the_background_follower_issues_without_being_asked(settings: Settings) -> None:
    quick = CoursesSettings(aggregate_delay_seconds=0.01, gap_wait_seconds=1.0)
    courses, certificates = CoursesPlugin(quick), CertificatesPlugin(quick)
    app = create_app(settings, plugins=[certificates, courses])
    async with app.router.lifespan_context(app):
        await course_ops.load_catalog(courses.context, DEFAULT_CATALOG_DIR)
        made = await add_credential(app.state.lrs, "sources", ["all"])
        async with xapi_client(app, Credential(made.key, made.secret)) as xapi:
            await send(xapi, ibm_101())
            verb = "https://w3id.org/xapi/acbc/verbs/earned-certificate"
            for _ in range(200):
                found = (await xapi.get("/xapi/statements", params={"verb": verb})).json()
                if found["statements"]:
                    break
                await asyncio.sleep(0.05)
            assert len(found["statements"]) == 1


async def test_lrs_plugins_keeps_only_the_plugins_it_names(settings: Settings) -> None:
    app = create_app(replace(settings, plugins="courses"))
    async with app.router.lifespan_context(app), asgi_client(app) as http:
        assert (await http.get("/api/v1/courses")).status_code == 401
        assert (await http.get("/api/v1/certificates")).status_code == 404
        assert (await http.get("/.well-known/jwks.json")).status_code == 404


def test_lrs_plugins_naming_an_unknown_plugin_is_an_error() -> None:
    with pytest.raises(
        ValueError, match=r"unknown plugin\(s\) coures; installed: certificates, courses"
    ):
        installed_plugins("courses, coures")
