"""All SQL of the courses plugin: catalogue, state, learners, progress, users, per transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from courses import tables
from courses._store_learners import LearnerQueries
from courses._store_progress import ProgressQueries
from lrs.store import dialects
from lrs.store.sql import Transaction
from lrs.store.statements import StatementQueries
from lrs.xapi.index import AGENT
from lrs.xapi.query import StatementQuery

catalog_t = tables.CatalogCourseRow.__table__  # type: ignore[attr-defined]
state_t = tables.StateRow.__table__  # type: ignore[attr-defined]
user_t = tables.UserRow.__table__  # type: ignore[attr-defined]

EVIDENCE_PAGE = 1000


@dataclass(frozen=True)
class StoredUser:
    name: str
    role: str
    password_hash: str
    created_ms: int


class StateQueries:
    """Named values kept by a plugin (checkpoints, keys): one name/value table per plugin."""

    def __init__(self, conn: AsyncConnection, engine: AsyncEngine, table: Table = state_t) -> None:
        self.conn = conn
        self.engine = engine
        self.table = table

    async def get_state(self, name: str, for_update: bool = False) -> str | None:
        stmt = select(self.table.c.value).where(self.table.c.name == name)
        row = (await self.conn.execute(stmt.with_for_update() if for_update else stmt)).first()
        return str(row[0]) if row is not None else None

    async def save_state(self, name: str, value: str) -> None:
        stmt = dialects.upsert(self.engine, self.table, ["name"], ["value"])
        await self.conn.execute(stmt, [{"name": name, "value": value}])

    async def add_state_once(self, name: str, value: str) -> str:
        """Keep `value` unless the name already has one; return the value that stays."""
        stmt = dialects.insert_ignoring_duplicates(self.engine, self.table)
        await self.conn.execute(stmt, [{"name": name, "value": value}])
        return await self.get_state(name) or value


class CatalogQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find_course_documents(self) -> list[dict[str, Any]]:
        rows = await self.conn.execute(select(catalog_t.c.document).order_by(catalog_t.c.position))
        return [orjson.loads(document) for (document,) in rows]

    async def find_course_versions(self) -> dict[str, str]:
        rows = await self.conn.execute(select(catalog_t.c.code, catalog_t.c.version))
        return {code: version for code, version in rows}

    async def replace_courses(self, documents: list[dict[str, Any]], loaded_ms: int) -> None:
        await self.conn.execute(delete(catalog_t))
        if documents:
            await self.conn.execute(
                catalog_t.insert(),
                [
                    {
                        "code": d["code"],
                        "position": n,
                        "version": d["version"],
                        "document": orjson.dumps(d).decode(),
                        "loaded_ms": loaded_ms,
                    }
                    for n, d in enumerate(documents)
                ],
            )


class Evidence(NamedTuple):
    seq: int
    statement: dict[str, Any]


class EvidenceQueries:
    """The stored statements, read through the LRS store: the evidence to recompute from."""

    def __init__(self, statements: StatementQueries) -> None:
        self.statements = statements

    async def find_statements_of_agents(
        self, agent_keys: Iterable[str], up_to_seq: int
    ) -> list[Evidence]:
        """Every statement not voided with one of these agents, stored up to `up_to_seq`."""
        found: dict[int, Evidence] = {}
        for key in sorted(set(agent_keys)):
            query = StatementQuery(filters=(((AGENT,), key),), ascending=True)
            after = 0
            while after < up_to_seq:
                rows = await self.statements.find_statements(query, after, EVIDENCE_PAGE)
                for row in rows:
                    if row.seq <= up_to_seq:
                        found[row.seq] = Evidence(row.seq, orjson.loads(row.body))
                if len(rows) < EVIDENCE_PAGE:
                    break
                after = rows[-1].seq
        return [found[seq] for seq in sorted(found)]

    async def get_statements(self, statement_ids: list[str]) -> list[Evidence]:
        rows = await self.statements.get_statements_by_id(statement_ids)
        return [Evidence(row.seq, orjson.loads(row.body)) for row in rows.values()]


class UserQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get_user(self, name: str) -> StoredUser | None:
        row = (await self.conn.execute(select(user_t).where(user_t.c.name == name))).first()
        if row is None:
            return None
        m = row._mapping
        return StoredUser(m["name"], m["role"], m["password_hash"], m["created_ms"])

    async def save_user(self, user: StoredUser) -> None:
        await self.conn.execute(
            user_t.insert().values(
                name=user.name,
                role=user.role,
                password_hash=user.password_hash,
                created_ms=user.created_ms,
            )
        )

    async def update_user(self, user: StoredUser) -> None:
        await self.conn.execute(
            update(user_t)
            .where(user_t.c.name == user.name)
            .values(role=user.role, password_hash=user.password_hash)
        )

    async def count_users(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(user_t))).scalar_one())


@dataclass
class CourseQueries:
    """What a courses op can do inside one LRS transaction, grouped by concern."""

    state: StateQueries
    catalog: CatalogQueries
    evidence: EvidenceQueries
    learners: LearnerQueries
    progress: ProgressQueries
    users: UserQueries


def course_queries(tx: Transaction) -> CourseQueries:
    engine = tx.statements.engine
    return CourseQueries(
        state=StateQueries(tx.conn, engine),
        catalog=CatalogQueries(tx.conn),
        evidence=EvidenceQueries(tx.statements),
        learners=LearnerQueries(tx.conn, engine),
        progress=ProgressQueries(tx.conn, engine),
        users=UserQueries(tx.conn),
    )
