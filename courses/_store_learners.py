"""SQL for learners: agent identities, administrators' links and unlinked (detached) identities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from courses import tables
from courses._chunks import distinct_chunks
from lrs.store import dialects

identity_t = tables.IdentityRow.__table__  # type: ignore[attr-defined]
link_t = tables.LinkRow.__table__  # type: ignore[attr-defined]
detached_t = tables.DetachedRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredIdentity:
    key: str
    learner_id: str
    email_sha1: str | None
    name: str | None
    agent: str


@dataclass(frozen=True)
class StoredLink:
    key_a: str
    key_b: str
    agent_a: str
    agent_b: str


def _identity(row: Any) -> StoredIdentity:
    m = row._mapping
    return StoredIdentity(m["agent_key"], m["learner_id"], m["email_sha1"], m["name"], m["agent"])


def _link(row: Any) -> StoredLink:
    m = row._mapping
    return StoredLink(m["key_a"], m["key_b"], m["agent_a"], m["agent_b"])


class LearnerQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine

    async def _identities_where(self, column: Any, values: Iterable[str]) -> list[StoredIdentity]:
        found: list[StoredIdentity] = []
        for part in distinct_chunks(values):
            rows = await self.conn.execute(select(identity_t).where(column.in_(part)))
            found += [_identity(row) for row in rows]
        return found

    async def get_identities(self, keys: Iterable[str]) -> dict[str, StoredIdentity]:
        return {i.key: i for i in await self._identities_where(identity_t.c.agent_key, keys)}

    async def find_identities_by_email(self, email_sha1s: Iterable[str]) -> list[StoredIdentity]:
        return await self._identities_where(identity_t.c.email_sha1, email_sha1s)

    async def find_identities_of_learners(self, learner_ids: Iterable[str]) -> list[StoredIdentity]:
        return await self._identities_where(identity_t.c.learner_id, learner_ids)

    async def save_identities(self, identities: list[StoredIdentity]) -> None:
        """Insert new identities (the aggregator: hundreds a chunk, as plain tuples)."""
        await dialects.insert_tuples(
            self.conn,
            identity_t,
            ["agent_key", "learner_id", "email_sha1", "name", "agent"],
            [(i.key, i.learner_id, i.email_sha1, i.name, i.agent) for i in identities],
        )

    async def update_identity_details(
        self, key: str, email_sha1: str | None, name: str | None
    ) -> None:
        await self.conn.execute(
            update(identity_t)
            .where(identity_t.c.agent_key == key)
            .values(email_sha1=email_sha1, name=name)
        )

    async def move_identities(self, moves: dict[str, str]) -> None:
        """Give each agent key (the dict's keys) its new learner id."""
        if moves:
            stmt = (
                update(identity_t)
                .where(identity_t.c.agent_key == bindparam("key"))
                .values(learner_id=bindparam("learner"))
            )
            await self.conn.execute(stmt, [{"key": k, "learner": v} for k, v in moves.items()])

    async def delete_all_identities(self) -> None:
        await self.conn.execute(delete(identity_t))

    # --- links ---------------------------------------------------------------------------

    async def find_links_of(self, keys: Iterable[str]) -> list[StoredLink]:
        found: dict[tuple[str, str], StoredLink] = {}
        for part in distinct_chunks(keys):
            rows = await self.conn.execute(
                select(link_t).where(or_(link_t.c.key_a.in_(part), link_t.c.key_b.in_(part)))
            )
            found.update({(link.key_a, link.key_b): link for link in map(_link, rows)})
        return list(found.values())

    async def any_links(self) -> bool:
        return (await self.conn.execute(select(link_t.c.key_a).limit(1))).first() is not None

    async def find_all_links(self) -> list[StoredLink]:
        return [_link(row) for row in await self.conn.execute(select(link_t))]

    async def save_link(self, link: StoredLink) -> None:
        stmt = dialects.insert_ignoring_duplicates(self.engine, link_t)
        await self.conn.execute(
            stmt,
            [
                {
                    "key_a": link.key_a,
                    "key_b": link.key_b,
                    "agent_a": link.agent_a,
                    "agent_b": link.agent_b,
                }
            ],
        )

    async def delete_links_of(self, key: str) -> int:
        result = await self.conn.execute(
            delete(link_t).where(or_(link_t.c.key_a == key, link_t.c.key_b == key))
        )
        return int(result.rowcount)

    # --- detached identities (unlinked by an administrator) --------------------------------

    async def find_detached(self, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for part in distinct_chunks(keys):
            rows = await self.conn.execute(
                select(detached_t.c.agent_key).where(detached_t.c.agent_key.in_(part))
            )
            found.update(key for (key,) in rows)
        return found

    async def save_detached(self, key: str) -> None:
        stmt = dialects.insert_ignoring_duplicates(self.engine, detached_t)
        await self.conn.execute(stmt, [{"agent_key": key}])

    async def delete_detached(self, keys: Iterable[str]) -> None:
        for part in distinct_chunks(keys):
            await self.conn.execute(delete(detached_t).where(detached_t.c.agent_key.in_(part)))
