"""What the stored statements say about an agent, for the Agents resource's Person object."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lrs.store.tables import StatementIndexRow, StatementRow
from lrs.xapi.index import AGENT, RELATED_AGENT

statement_t = StatementRow.__table__  # type: ignore[attr-defined]
index_t = StatementIndexRow.__table__  # type: ignore[attr-defined]


class AgentQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn

    async def find_statements_naming(self, agent_key: str, limit: int) -> list[str]:
        """Bodies of the newest non-voided statements naming the agent anywhere, newest first."""
        i, s = index_t, statement_t
        # Pick the seqs from the index alone, so only `limit` statement bodies are read.
        newest = (
            select(i.c.seq)
            .where(i.c.kind.in_((AGENT, RELATED_AGENT)), i.c.value == agent_key)
            .distinct()
            .order_by(i.c.seq.desc())
            .limit(limit)
            .subquery()
        )
        stmt = (
            select(s.c.body)
            .join(newest, s.c.seq == newest.c.seq)
            .where(s.c.voided.is_(False))
            .order_by(s.c.seq.desc())
        )
        return [body for (body,) in await self.conn.execute(stmt)]
