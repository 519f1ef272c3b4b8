"""The certificates plugin: issuing, signing, verification and the audit log, wired into the LRS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from certificates import api, cli, follow, ops
from courses.aggregate import CatalogCache
from courses.config import CoursesSettings
from courses.ops import CoursesContext, ensure_jwt_secret
from lrs.errors import XapiError
from lrs.ops.context import LrsContext, StatementListener
from lrs.plugins import BackgroundWork
from lrs.types import FeedEntry

if TYPE_CHECKING:
    import typer

log = logging.getLogger("lrs.certificates")
POLL_SECONDS = 5.0


class _Wake:
    def __init__(self, plugin: CertificatesPlugin) -> None:
        self.plugin = plugin

    async def statements_stored(self, entries: list[FeedEntry], voided_ids: list[str]) -> None:
        self.plugin.wake.set()


class CertificatesPlugin:
    """Registered under `acbc_lrs.plugins`; needs the courses plugin's tables and catalogue."""

    name = "certificates"

    def __init__(
        self, courses_settings: CoursesSettings | None = None, follow_in_background: bool = True
    ) -> None:
        self.courses_settings = courses_settings or CoursesSettings.from_env()
        self.follows = follow_in_background
        self.wake = asyncio.Event()
        self._context: ops.CertContext | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def context(self) -> ops.CertContext:
        if self._context is None:
            raise XapiError("the certificates plugin has not started")
        return self._context

    def routes(self) -> Sequence[BaseRoute]:
        return api.routes(lambda: self.context)

    def _follows_here(self, ctx: LrsContext) -> bool:
        """Whether this process decides certificates: not under `lrs serve` (its background
        process does) nor beside a separate `lrs progress follow`."""
        return self.follows and self.courses_settings.follows_in(ctx.settings)

    def listeners(self, ctx: LrsContext) -> Sequence[StatementListener]:
        # No listener where nothing follows: each stored batch would be copied for nobody.
        return [_Wake(self)] if self._follows_here(ctx) else []

    def commands(self) -> dict[str, typer.Typer]:
        return cli.commands()

    async def startup(self, ctx: LrsContext) -> None:
        self._context = await self._started(ctx)
        if self._follows_here(ctx):  # under `lrs serve`, its background process does
            self._task = asyncio.create_task(self._run(), name="certificates-follower")

    async def _started(self, ctx: LrsContext) -> ops.CertContext:
        courses = CoursesContext(ctx, self.courses_settings.normalised(), CatalogCache())
        await ensure_jwt_secret(courses)
        context = ops.CertContext(ctx, courses)
        await ops.ensure_signing_key(context)
        return context

    def background(self) -> BackgroundWork | None:
        """Under `lrs serve`, certificates are decided in its background process, after the
        courses aggregator there: polled, as no listener wakes it."""
        if not self.courses_settings.aggregate_in_server:
            return None

        async def follow_certificates(ctx: LrsContext) -> None:
            self._context = await self._started(ctx)
            await self._run(wakes=False)

        return follow_certificates

    async def _run(self, wakes: bool = True) -> None:
        while True:
            if wakes:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
                self.wake.clear()
            # Let the courses aggregator fold the statements first.
            await asyncio.sleep(self.courses_settings.aggregate_delay_seconds * 2)
            try:
                await follow.catch_up(self.context)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep following; the next wake-up retries
                log.exception("certificate decisions failed; will retry")
                await asyncio.sleep(1.0)

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
