"""alembic environment: migrates the connection lrs.store.migrate gives, or LRS_DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from lrs.config import Settings
from lrs.store.migrate import include_core


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_object=include_core,
        # SQLite alters a table by copying it; autogenerate writes batch operations for that.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # Inside the caller's transaction when there is one (lrs.store.migrate opens it, locked).
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_url(url: str) -> None:
    """For the `alembic` command itself: the same async engines the LRS uses."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
    finally:
        await engine.dispose()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    _migrate(given)
else:
    asyncio.run(
        _migrate_url(
            context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
        )
    )
