"""lrs/store/pg_copy.py: statement and index rows encoded for COPY are stored as given."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lrs.store import dialects
from lrs.store.pg_copy import (
    INDEX_COLUMNS,
    STATEMENT_COLUMNS,
    index_row_heads,
    index_rows_payload,
    statement_rows_payload,
)
from lrs.store.sql import SqlStore
from lrs.store.statements import (
    NewStatement,
    StatementIdTaken,
    StoredStatement,
    index_t,
    statement_t,
)

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


async def test_encoded_statement_rows_are_stored_byte_for_byte(store: SqlStore) -> None:
    body = '{"id":"a","verb":{"display":{"fr-FR":"a terminé ✓"}}}'.encode()
    rows = [("a", body, 5, 1_700_000_000_123, False), ("b", b"{}", 2**40, 0, True)]
    async with store.write() as tx:
        payload = statement_rows_payload(rows)
        await dialects.copy_binary(tx.conn, statement_t, STATEMENT_COLUMNS, payload)
    async with store.read() as tx:
        stored = await tx.statements.get_statements_by_id(["a", "b"])
    assert stored == {
        "a": StoredStatement(5, "a", 1_700_000_000_123, False, body.decode()),
        "b": StoredStatement(2**40, "b", 0, True, "{}"),
    }


async def test_statements_take_seqs_in_order_and_a_taken_id_stores_nothing(
    store: SqlStore,
) -> None:
    def statement(statement_id: str) -> NewStatement:
        return NewStatement(statement_id, 1, False, b"{}", frozenset(KEYS))

    async with store.write() as tx:
        first = await tx.statements.save_statements([statement("a"), statement("b")])
    async with store.write() as tx:
        second = await tx.statements.save_statements([statement("c")])
    assert first["a"] < first["b"] < second["c"]
    with pytest.raises(StatementIdTaken):
        async with store.write() as tx:
            await tx.statements.save_statements([statement("d"), statement("a")])
    async with store.write() as tx:
        third = await tx.statements.save_statements([statement("e")])
    # The refused write drew its seqs (as an INSERT's would): later ones are still larger.
    assert third["e"] > second["c"]
    async with store.read() as tx:
        assert set(await tx.statements.get_statements_by_id(["a", "b", "c", "d", "e"])) == {
            "a",
            "b",
            "c",
            "e",
        }
        index_seqs = {seq for (seq,) in await tx.conn.execute(select(index_t.c.seq))}
    assert index_seqs == {first["a"], first["b"], second["c"], third["e"]}
