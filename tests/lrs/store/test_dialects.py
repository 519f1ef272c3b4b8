"""lrs/store/dialects.py: one behaviour on SQLite and PostgreSQL, whichever way each inserts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lrs.store import dialects
from lrs.store.sql import SqlStore
from lrs.store.tables import StatementIndexRow

index_t = StatementIndexRow.__table__  # type: ignore[attr-defined]
COLUMNS = ["kind", "value", "seq"]


async def test_plain_tuples_are_stored_as_given(store: SqlStore) -> None:
    rows = [("verb", "http://adlnet.gov/expapi/verbs/completed", n) for n in range(1, 301)]
    async with store.write() as tx:
        await dialects.insert_tuples(tx.conn, index_t, COLUMNS, rows)
    async with store.read() as tx:
        stored = (await tx.conn.execute(select(index_t).order_by(index_t.c.seq))).all()
    assert [tuple(row) for row in stored] == rows


async def test_a_duplicate_key_is_an_integrity_error_and_nothing_is_stored(
    store: SqlStore,
) -> None:
    """PostgreSQL COPYs plain rows: a duplicate is still the error an INSERT gives."""
    rows = [("agent", "mbox:mailto:amina@example.org", 7), ("verb", "http://x.org/v", 7)]
    with pytest.raises(IntegrityError):
        async with store.write() as tx:
            await dialects.insert_tuples(tx.conn, index_t, COLUMNS, [*rows, rows[0]])
    async with store.read() as tx:
        assert (await tx.conn.execute(select(index_t))).all() == []
