"""Schema migrations (lrs/store/migrate.py): older databases upgrade without losing a row."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from lrs.config import Settings
from lrs.ops.context import LrsContext
from lrs.ops.credentials import add_credential
from lrs.ops.documents import IncomingDocument, merge_document
from lrs.ops.get_statements import Reader, find_statements
from lrs.ops.save_statements import Attachment, Writer, save_statements
from lrs.store import migrate
from lrs.store.sql import SqlStore
from lrs.xapi.documents import STATE, DocumentScope, Preconditions
from lrs.xapi.prepare import Authority, authority_agent
from lrs.xapi.query import parse_query
from tests.conftest import statement

# The revision the upgrade test starts from: the one before head.
OLDER = "0001"
HEAD = migrate.head_revision()
WRITER = Writer(
    Authority("migrator", authority_agent("migrator", "migrator", "https://lrs.test")), True
)
VERBS = ["http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/attempted"]
ATTACHMENT = b"certificate of completion"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = SqlStore(database_url)
    try:
        yield opened
    finally:
        await opened.close()


def _context(store: SqlStore) -> LrsContext:
    return LrsContext(store=store, settings=Settings(database_url=store.url))


def _learning_record(n: int) -> dict[str, Any]:
    return statement(
        id=str(uuid.UUID(int=n + 1)),
        actor={"objectType": "Agent", "mbox": f"mailto:learner{n % 7}@example.org"},
        verb={"id": VERBS[n % 2], "display": {"en-US": "did"}},
        object={
            "objectType": "Activity",
            "id": f"https://acbc.iom.int/courses/ibm-{n % 3}",
            "definition": {"name": {"en": f"Course {n % 3}", "fr": f"Cours {n % 3}"}},
        },
        context={"registration": str(uuid.UUID(int=10_000 + n % 5))},
    )


async def _fill(ctx: LrsContext) -> list[str]:
    """Statements (one voided, one with an attachment), a document and a credential."""
    records = [_learning_record(n) for n in range(240)]
    for start in range(0, len(records), 80):
        await save_statements(ctx, records[start : start + 80], WRITER, "1.0.3")
    sha2 = hashlib.sha256(ATTACHMENT).hexdigest()
    certified = statement(
        id=str(uuid.uuid4()),
        attachments=[
            {
                "usageType": "http://id.tincanapi.com/attachment/certificate",
                "display": {"en": "certificate"},
                "contentType": "text/plain",
                "length": len(ATTACHMENT),
                "sha2": sha2,
            }
        ],
    )
    await save_statements(
        ctx, [certified], WRITER, "1.0.3", [Attachment(sha2, "text/plain", ATTACHMENT)]
    )
    voiding = statement(
        verb={"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
        object={"objectType": "StatementRef", "id": records[0]["id"]},
    )
    await save_statements(ctx, [voiding], WRITER, "1.0.3")
    scope = DocumentScope(
        STATE.kind, "https://acbc.iom.int/courses/ibm-0", "mbox:mailto:a@example.org"
    )
    incoming = IncomingDocument("application/json", b'{"bookmark": 12}')
    await merge_document(ctx, scope, "progress", incoming, Preconditions())
    await add_credential(ctx, "moodle", ["statements/write"])
    return [r["id"] for r in records]


async def _all_rows(store: SqlStore) -> dict[str, list[dict[str, Any]]]:
    """Every row of every core table, as the database holds it (reflected, ordered)."""

    def read(conn: Connection) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {}
        for core in migrate.core_tables():
            table = Table(core.name, MetaData(), autoload_with=conn)
            ordered = select(table).order_by(*table.primary_key.columns)
            rows[core.name] = [dict(row._mapping) for row in conn.execute(ordered)]
        return rows

    async with store.engine.connect() as conn:
        return await conn.run_sync(read)


def _projected(rows: dict[str, list[dict[str, Any]]], like: dict[str, list[dict[str, Any]]]) -> Any:
    """`rows` restricted to the columns `like` has (a migration may add columns)."""
    return {
        name: [
            {col: row[col] for col in like[name][0]} if like[name] else row for row in table_rows
        ]
        for name, table_rows in rows.items()
    }


async def _ids(ctx: LrsContext, params: dict[str, str]) -> list[str]:
    query = parse_query({**params, "limit": "1000"}, "1.0.3", 100, 1000)
    page = await find_statements(ctx, query, Reader("migrator", False), [], None)
    return [orjson.loads(statement_json)["id"] for statement_json in page.statements_json]


async def _indexes(store: SqlStore, table: str) -> set[str]:
    async with store.engine.connect() as conn:
        found = await conn.run_sync(lambda sync: inspect(sync).get_indexes(table))
    return {index["name"] for index in found if index["name"]}


async def test_upgrading_an_older_schema_keeps_every_row(store: SqlStore) -> None:
    assert await store.create_schema(OLDER) == (None, OLDER)
    ctx = _context(store)
    ids = await _fill(ctx)
    before = await _all_rows(store)
    assert len(before["statement"]) == 242 and before["document"] and before["attachment"]

    assert await store.create_schema() == (OLDER, HEAD)

    after = await _all_rows(store)
    assert _projected(after, before) == before
    assert "ix_statement_stored_ms" in await _indexes(store, "statement")
    # The LRS still finds them by filter, the voided one excepted (Data 2.3.2).
    attempted = await _ids(ctx, {"verb": VERBS[1], "ascending": "true"})
    assert attempted == [i for n, i in enumerate(ids) if n % 2 == 1]
    assert ids[0] not in await _ids(ctx, {"verb": VERBS[0]})
    assert len(await _ids(ctx, {"since": "2000-01-01T00:00:00Z"})) == 241


async def test_a_database_made_before_migrations_is_adopted(store: SqlStore) -> None:
    """Databases created by create_all before alembic hold revision 0001's tables, unversioned."""
    await store.create_schema(OLDER)
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE alembic_version"))
    await save_statements(_context(store), [_learning_record(1)], WRITER, "1.0.3")

    assert await store.create_schema() == (migrate.BASELINE, HEAD)
    assert len((await _all_rows(store))["statement"]) == 1


async def test_processes_starting_together_migrate_once(store: SqlStore) -> None:
    others = [SqlStore(store.url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(other.create_schema() for other in [store, *others]))
    finally:
        for other in others:
            await other.close()
    assert sorted(str(before) for before, _ in results) == sorted(["None", HEAD, HEAD, HEAD])
    assert {after for _, after in results} == {HEAD}


async def test_the_schema_at_head_is_what_tables_py_declares(store: SqlStore) -> None:
    """A change to lrs/store/tables.py needs a migration: `lrs db revision -m ...` writes one."""
    await store.create_schema()

    def differences(conn: Connection) -> list[Any]:
        options = {"include_object": migrate.include_core, "compare_type": True}
        return list(
            compare_metadata(MigrationContext.configure(conn, opts=options), SQLModel.metadata)
        )

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_plugin_tables_are_created_beside_the_core(store: SqlStore) -> None:
    """Plugins declare SQLModel tables outside the core; each upgrade creates the missing ones."""
    await store.create_schema()
    plugin_table = Table(
        "test_plugin_note",
        SQLModel.metadata,
        Column("id", Integer, primary_key=True),
        Column("note", Text),
    )
    try:
        assert await store.create_schema() == (HEAD, HEAD)
        async with store.engine.begin() as conn:
            await conn.execute(plugin_table.insert().values(note="kept"))
        await store.create_schema()
        async with store.engine.connect() as conn:
            assert (await conn.execute(select(plugin_table.c.note))).scalars().all() == ["kept"]
    finally:
        SQLModel.metadata.remove(plugin_table)


async def test_statement_refs_stored_before_0003_find_a_target_stored_after(
    store: SqlStore,
) -> None:
    """Revision 0003 indexes what existing StatementRefs target, so a target that arrives
    after the upgrade passes its filter keys to them (Communication 2.1.3)."""
    await store.create_schema("0002")
    ctx = _context(store)
    record = _learning_record(3)
    confirmation = statement(
        id=str(uuid.uuid4()),
        verb={"id": "http://adlnet.gov/expapi/verbs/confirmed"},
        object={"objectType": "StatementRef", "id": record["id"]},
    )
    await save_statements(ctx, [confirmation], WRITER, "1.0.3")
    async with store.write() as tx:  # as the LRS stored it before revision 0003
        await tx.conn.execute(text("DELETE FROM statement_index WHERE kind = 'targets'"))

    await store.create_schema()
    await save_statements(ctx, [record], WRITER, "1.0.3")

    registration = record["context"]["registration"]
    found = await _ids(ctx, {"registration": registration})
    assert sorted(found) == sorted([record["id"], confirmation["id"]])
