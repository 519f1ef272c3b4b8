"""lrs/store/pg_copy.py: index rows encoded ahead of their write are stored as the keys say."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lrs.store import dialects
from lrs.store.pg_copy import INDEX_COLUMNS, index_row_heads, index_rows_payload
from lrs.store.sql import SqlStore
from lrs.store.tables import StatementIndexRow

index_t = StatementIndexRow.__table__  # type: ignore[attr-defined]

KEYS = [
    ("activity", "https://acbc.iom.int/courses/gestion-des-frontières"),
    ("agent", 'account:["https://moodle.acbc.iom.int","amina"]'),
    ("registration", "2f3e0c3a-7d3b-4b8e-9a51-0c2b7f0e1d11"),
]


@pytest.fixture(autouse=True)
def _postgresql_only(store: SqlStore) -> None:
    if store.index_row_encoder() is None:
        pytest.skip("SQLite inserts its index rows as tuples")


async def test_encoded_rows_are_stored_with_each_statements_seq(store: SqlStore) -> None:
    statements = [(7, index_row_heads(KEYS)), (2**40, index_row_heads(KEYS[:1])), (9, [])]
    async with store.write() as tx:
        await dialects.copy_binary(tx.conn, index_t, INDEX_COLUMNS, index_rows_payload(statements))
    async with store.read() as tx:
        stored = {tuple(row) for row in await tx.conn.execute(select(index_t))}
    assert stored == {(k, v, 7) for k, v in KEYS} | {(*KEYS[0], 2**40)}


async def test_an_encoded_duplicate_is_an_integrity_error_and_nothing_is_stored(
    store: SqlStore,
) -> None:
    payload = index_rows_payload([(1, index_row_heads(KEYS)), (1, index_row_heads(KEYS[:1]))])
    with pytest.raises(IntegrityError):
        async with store.write() as tx:
            await dialects.copy_binary(tx.conn, index_t, INDEX_COLUMNS, payload)
    async with store.read() as tx:
        assert (await tx.conn.execute(select(index_t))).all() == []
