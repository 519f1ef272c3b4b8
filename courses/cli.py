"""`lrs courses`, `lrs users`, `lrs learners` and `lrs progress`: the plugin's commands."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from courses import ops, ops_learners
from courses.aggregate import Aggregator, CatalogCache
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings, SettingInvalid
from lrs.cli import run_command
from lrs.ops.context import LrsContext

T = TypeVar("T")

courses_app = typer.Typer(help="The ACBC course catalogue.", no_args_is_help=True)
users_app = typer.Typer(
    help="Users of the progress API (/api/v1) and their roles.", no_args_is_help=True
)
learners_app = typer.Typer(
    help="One official across agent identifiers: links and unlinks.", no_args_is_help=True
)
progress_app = typer.Typer(
    help="Course progress derived from the stored statements.", no_args_is_help=True
)


def _run(work: Callable[[ops.CoursesContext], Awaitable[T]]) -> T:
    """Run one courses op on the store from LRS_* settings; errors end the command cleanly."""

    async def with_context(lrs: LrsContext) -> T:
        return await work(ops.CoursesContext(lrs, CoursesSettings.from_env(), CatalogCache()))

    return run_command(with_context, expected=(SettingInvalid,))


@courses_app.command("load")
def courses_load(
    directory: Annotated[
        Path, typer.Argument(help="Catalogue directory (one TOML file per course)")
    ] = DEFAULT_CATALOG_DIR,
) -> None:
    """Validate and load the catalogue; when it changed, recompute progress from all statements."""

    async def work(cc: ops.CoursesContext) -> tuple[ops.LoadResult, int]:
        result = await ops.load_catalog(cc, directory)
        applied = (
            await Aggregator(cc.lrs, cc.settings, cc.cache).catch_up() if result.changed else 0
        )
        return result, applied

    result, applied = _run(work)
    state = "loaded" if result.changed else "unchanged"
    typer.echo(
        f"catalogue {state}: {len(result.codes)} courses ({', '.join(result.codes)}), "
        f"version {result.version}"
    )
    if result.changed:
        typer.echo(f"progress recomputed from {applied} statements")


@users_app.command("add")
def users_add(
    name: str,
    role: str = typer.Option(..., help="admin, designer or auditor"),
    password: str | None = typer.Option(None, help="Password to set (random when omitted)"),
) -> None:
    """Create a user (or reset an existing one's role and password) and print the password."""
    made = _run(lambda cc: ops.add_user(cc, name, role, password))
    typer.echo(f"user: {made.name}\nrole: {made.role}\npassword: {made.password}")


@learners_app.command("link")
def learners_link(agent_a: str, agent_b: str) -> None:
    """Link two agent identifiers (xAPI Agent JSON) as one official."""
    transcript = _run(lambda cc: ops_learners.link_identities(cc, agent_a, agent_b))
    typer.echo(
        f"learner {transcript.learner_id}: {len(transcript.identities)} identities, "
        f"{len(transcript.records)} courses"
    )


@learners_app.command("unlink")
def learners_unlink(agent: str) -> None:
    """Detach an agent identifier (xAPI Agent JSON) from its learner: no links, no email match."""
    transcripts = _run(lambda cc: ops_learners.unlink_identity(cc, agent))
    for transcript in transcripts:
        typer.echo(
            f"learner {transcript.learner_id}: {len(transcript.identities)} identities, "
            f"{len(transcript.records)} courses"
        )


@progress_app.command("rebuild")
def progress_rebuild() -> None:
    """Recompute every learner's progress from the stored statements."""
    started = time.perf_counter()
    applied = _run(ops.rebuild_progress)
    typer.echo(
        f"progress rebuilt from {applied} statements in {time.perf_counter() - started:.1f} s"
    )


@progress_app.command("follow")
def progress_follow() -> None:
    """Keep progress up to date in this process (with LRS_PROGRESS_IN_SERVER=false on servers)."""

    async def work(cc: ops.CoursesContext) -> None:
        await Aggregator(cc.lrs, cc.settings, cc.cache).follow()

    typer.echo("following the statement feed; Ctrl-C to stop", err=True)
    with suppress(KeyboardInterrupt):
        _run(work)


def commands() -> dict[str, typer.Typer]:
    return {
        "courses": courses_app,
        "users": users_app,
        "learners": learners_app,
        "progress": progress_app,
    }
