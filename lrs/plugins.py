"""The small interface through which code outside the xAPI core (e.g. ACBC courses) plugs in.

A plugin can add HTTP routes, listen to stored statements, add `lrs` sub-commands, run
start-up work, and give background work that `lrs serve` runs once (lrs.background).
Installed plugins are found through the `acbc_lrs.plugins` entry point group, so the core
never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    import typer

    from lrs.ops.context import LrsContext, StatementListener

ENTRY_POINT_GROUP = "acbc_lrs.plugins"

# Work that runs until cancelled, given a context of its own process.
BackgroundWork = Callable[["LrsContext"], Coroutine[Any, Any, None]]


@runtime_checkable
class Plugin(Protocol):
    name: str

    def routes(self) -> Sequence[BaseRoute]:
        """Routes added to the application (e.g. a Mount under /api/v1)."""
        ...

    def listeners(self, ctx: LrsContext) -> Sequence[StatementListener]:
        """Listeners told about every committed batch of statements."""
        ...

    def commands(self) -> dict[str, typer.Typer]:
        """`lrs NAME ...` sub-command groups."""
        ...

    async def startup(self, ctx: LrsContext) -> None:
        """Work after the core schema exists and before the first request.

        Under `lrs serve`, a plugin with background work leaves it to the background process
        (`ctx.settings.background_process` is set): it must not run it in each worker too.
        """
        ...

    def background(self) -> BackgroundWork | None:
        """Work `lrs serve` runs once, in a process of its own at low CPU priority; or None."""
        ...

    async def shutdown(self) -> None: ...


def installed_plugins(names: str = "") -> list[Plugin]:
    """The plugins registered under the entry point group, in name order.

    `names` (comma-separated) keeps only those; empty keeps every one. A name that is not
    installed is an error, not a silently smaller server.
    """
    entries = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - {e.name for e in entries}
    if unknown:
        installed = ", ".join(e.name for e in entries) or "none"
        raise ValueError(f"unknown plugin(s) {', '.join(sorted(unknown))}; installed: {installed}")
    found: list[Plugin] = []
    for entry in entries:
        if wanted and entry.name not in wanted:
            continue
        plugin = entry.load()
        found.append(plugin() if isinstance(plugin, type) else plugin)
    return found
