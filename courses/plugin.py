"""The courses plugin: catalogue, progress aggregation and progress API, wired into the LRS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from courses import api, cli, ops
from courses.aggregate import Aggregator, CatalogCache
from courses.config import CoursesSettings
from lrs.errors import XapiError
from lrs.ops.context import LrsContext, StatementListener
from lrs.plugins import BackgroundWork
from lrs.types import FeedEntry

if TYPE_CHECKING:
    import typer


class _Wake:
    """The listener: a committed batch wakes the aggregator and is offered to it, so that it
    need not read back what this process stored (it reads the feed for everything else).
    Only where this process aggregates: entries no catch-up takes would sit in memory."""

    def __init__(self, aggregator: Aggregator) -> None:
        self.aggregator = aggregator

    async def statements_stored(self, entries: list[FeedEntry], voided_ids: list[str]) -> None:
        self.aggregator.offer(entries)
        self.aggregator.wake(len(entries))


class CoursesPlugin:
    """Registered under `acbc_lrs.plugins`; one instance per application."""

    name = "courses"

    def __init__(
        self, settings: CoursesSettings | None = None, aggregate_in_background: bool = True
    ) -> None:
        self.settings = settings or CoursesSettings.from_env()
        self.runs_aggregator = aggregate_in_background
        self.cache = CatalogCache()
        self._context: ops.CoursesContext | None = None
        self.aggregator: Aggregator | None = None

    @property
    def context(self) -> ops.CoursesContext:
        if self._context is None:
            raise XapiError("the courses plugin has not started")
        return self._context

    def routes(self) -> Sequence[BaseRoute]:
        return api.routes(lambda: self.context)

    def listeners(self, ctx: LrsContext) -> Sequence[StatementListener]:
        self.aggregator = Aggregator(ctx, self.settings, self.cache)
        if not self.settings.follows_in(ctx.settings):
            return []
        return [_Wake(self.aggregator)]

    def commands(self) -> dict[str, typer.Typer]:
        return cli.commands()

    async def startup(self, ctx: LrsContext) -> None:
        self._context = ops.CoursesContext(ctx, self.settings, self.cache)
        await ops.ensure_jwt_secret(self._context)
        if self.aggregator is None:
            self.aggregator = Aggregator(ctx, self.settings, self.cache)
        if self.runs_aggregator and self.settings.follows_in(ctx.settings):
            self.aggregator.start()
            self.aggregator.wake()  # catch up with whatever was stored while no server ran

    def background(self) -> BackgroundWork | None:
        """Under `lrs serve`, progress is kept by its background process (lrs.background)."""
        if not self.settings.aggregate_in_server:
            return None  # a separate `lrs progress follow` keeps it
        settings, cache = self.settings, self.cache

        async def follow(ctx: LrsContext) -> None:
            await Aggregator(ctx, settings, cache).follow()

        return follow

    async def shutdown(self) -> None:
        if self.aggregator is not None:
            await self.aggregator.stop()
