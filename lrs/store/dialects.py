"""The few places SQLite and PostgreSQL differ: connection setup and insert-or-ignore/upsert."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Insert


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def configure_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers; explicit BEGIN so write transactions can take the lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode loses nothing on a process crash (SIGKILL); only an OS crash can.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN, so they queue on busy_timeout instead of
        # failing when a deferred transaction tries to upgrade (several workers on one file).
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def insert_ignoring_duplicates(engine: AsyncEngine, table: Table) -> Insert:
    """INSERT that skips rows whose primary key already exists."""
    if is_sqlite(engine):
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def upsert(engine: AsyncEngine, table: Table, key: list[str], update: list[str]) -> Insert:
    """INSERT that replaces the `update` columns of a row whose `key` already exists."""
    if is_sqlite(engine):
        stmt = sqlite.insert(table)
        return stmt.on_conflict_do_update(
            index_elements=key, set_={col: stmt.excluded[col] for col in update}
        )
    pg = postgresql.insert(table)
    return pg.on_conflict_do_update(index_elements=key, set_={col: pg.excluded[col] for col in update})
