"""Use case of the Agents resource: the Person object for an Agent (Communication 2.4)."""

from __future__ import annotations

from typing import Any

import orjson

from lrs.ops.context import LrsContext
from lrs.xapi import index
from lrs.xapi.documents import person_object

# Names come from the newest statements naming the agent; older ones add little but cost reads.
STATEMENTS_SCANNED = 200


async def get_person(ctx: LrsContext, agent: dict[str, Any]) -> dict[str, Any]:
    key = str(index.agent_key(agent))
    async with ctx.store.read() as tx:
        bodies = await tx.agents.find_statements_naming(key, STATEMENTS_SCANNED)
    return person_object(agent, [orjson.loads(body) for body in bodies])
