"""A store with the current schema, on each engine the tests run against."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lrs.store.sql import SqlStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = SqlStore(database_url)
    await opened.create_schema()
    try:
        yield opened
    finally:
        await opened.close()
