"""The `lrs` command: serve, credentials, db."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
import uvicorn

from lrs.background import background_process
from lrs.config import Settings
from lrs.errors import XapiError
from lrs.ops import credentials as credential_ops
from lrs.ops.context import LrsContext
from lrs.ops.writer import writer_process
from lrs.plugins import installed_plugins
from lrs.store import migrate
from lrs.store.sql import SqlStore

T = TypeVar("T")

app = typer.Typer(help="ACBC LRS: an xAPI Learning Record Store.", no_args_is_help=True)
credentials_app = typer.Typer(help="API credentials (HTTP Basic key/secret with xAPI scopes).")
db_app = typer.Typer(help="The database schema.")
app.add_typer(credentials_app, name="credentials")
app.add_typer(db_app, name="db")


def run_command(
    work: Callable[[LrsContext], Awaitable[T]],
    expected: tuple[type[Exception], ...] = (),
) -> T:
    """Open the store from LRS_* settings, run one op, close the store.

    An XapiError (or one of the `expected` errors a plugin names) ends the command with its
    message and exit status 2, never a traceback. Plugins' commands run through this too.
    """

    async def main() -> T:
        settings = Settings.from_env()
        store = SqlStore(settings.database_url)
        try:
            await store.create_schema()
            return await work(LrsContext(store=store, settings=settings))
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except XapiError as error:
        for message in [error.message, *error.errors[1:]]:
            typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from None
    except expected as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def create_app_from_env() -> object:
    """uvicorn factory: each worker process builds its app from the environment."""
    from lrs.app import create_app
    from lrs.runtime import tune_garbage_collector

    app = create_app(Settings.from_env())
    tune_garbage_collector()
    return app


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(1, help="Worker processes"),
) -> None:
    """Create or migrate the schema, then serve the LRS."""

    async def noop(ctx: LrsContext) -> None:
        return None

    run_command(noop)
    settings = Settings.from_env()
    try:
        installed_plugins(settings.plugins)  # before any worker starts, which would fail alike
    except ValueError as error:
        typer.echo(f"error: LRS_PLUGINS: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        with _stopped_by_sigterm():
            _serve_with_helpers(settings, host, port, workers)
    except _Stopped:
        # Die of the signal, as uvicorn would have, now that the helpers have stopped too.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def _serve_with_helpers(settings: Settings, host: str, port: int, workers: int) -> None:
    """uvicorn, beside the writer and background processes, which stop when it returns."""
    with writer_process(settings) as socket_path, background_process(settings) as background:
        # The workers build their settings from the environment (create_app_from_env).
        os.environ["LRS_WRITER_SOCKET"] = socket_path
        if background:
            os.environ["LRS_BACKGROUND_PROCESS"] = "1"
        uvicorn.run(
            "lrs.cli:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            proxy_headers=True,
        )


class _Stopped(Exception):
    """SIGTERM arrived: unwind, stopping the helper processes on the way out."""


@contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM into _Stopped while the block runs.

    uvicorn handles SIGTERM itself while it serves, then, shut down, raises it again for the
    handler it found: by default that kills the process on the spot, leaving its writer and
    background processes running until they notice (lrs.supervisor.stop_when_orphaned).
    """

    def stop(signum: int, frame: object) -> None:
        # A second SIGTERM while the helpers stop ends the process at once, as it asks.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Option(migrate.HEAD, help="Revision to migrate to (default: the latest)"),
) -> None:
    """Create or migrate the schema (alembic), then create plugins' missing tables."""
    before, after = _on_store(lambda store: store.create_schema(revision))
    if before == after:
        typer.echo(f"schema is up to date (revision {after})")
    else:
        typer.echo(f"schema migrated from revision {before or 'none'} to {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema's revision (none for an empty database)."""
    typer.echo(_on_store(lambda store: migrate.current_revision(store.engine)) or "none")


@db_app.command("revision")
def db_revision(
    message: str = typer.Option(..., "-m", "--message", help="What the revision changes"),
) -> None:
    """Write a new migration from the difference between tables.py and an upgraded database.

    For developers, from a source checkout; review the generated file before committing it.
    """
    _on_store(lambda store: migrate.make_revision(store.engine, message))


def _on_store(work: Callable[[SqlStore], Awaitable[T]]) -> T:
    """Run schema work on the LRS_DATABASE_URL database, without upgrading it first."""

    async def main() -> T:
        store = SqlStore(Settings.from_env().database_url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


@credentials_app.command("add")
def credentials_add(
    name: str,
    scopes: str = typer.Option("all", help="Comma- or space-separated xAPI scopes"),
    key: str | None = typer.Option(None, help="Key to use (random when omitted)"),
    secret: str | None = typer.Option(None, help="Secret to use (random when omitted)"),
) -> None:
    """Create a credential and print its key and secret (the secret is stored hashed)."""
    scope_list = scopes.replace(",", " ").split()
    made = run_command(
        lambda ctx: credential_ops.add_credential(ctx, name, scope_list, key, secret)
    )
    typer.echo(f"key: {made.key}\nsecret: {made.secret}\nscopes: {' '.join(made.scopes)}")


@credentials_app.command("demo")
def credentials_demo(port: int = typer.Option(8000, help="Port shown in the example")) -> None:
    """Replace the 'demo' credential with a fresh one and print it (used by `make run`)."""
    made = run_command(lambda ctx: credential_ops.replace_credentials_named(ctx, "demo", ["all"]))
    typer.echo(
        f"demo credential -> key: {made.key}  secret: {made.secret}\n"
        f"try: curl -u {made.key}:{made.secret} -H 'X-Experience-API-Version: 1.0.3' "
        f"http://127.0.0.1:{port}/xapi/statements"
    )


@credentials_app.command("list")
def credentials_list() -> None:
    """List credentials (never their secrets)."""
    for credential in run_command(credential_ops.find_credentials):
        state = "revoked" if credential.revoked else "active"
        typer.echo(f"{credential.key}\t{credential.name}\t{' '.join(credential.scopes)}\t{state}")


@credentials_app.command("revoke")
def credentials_revoke(key: str) -> None:
    """Revoke a credential by key."""
    if not run_command(lambda ctx: credential_ops.revoke_credential(ctx, key)):
        typer.echo(f"error: no credential with key {key}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key}")


def _add_plugin_commands() -> None:
    for plugin in installed_plugins():
        for name, group in plugin.commands().items():
            app.add_typer(group, name=name)


def main() -> None:
    _add_plugin_commands()
    app()
