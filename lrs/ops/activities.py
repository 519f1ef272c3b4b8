"""Use case of the Activities resource: the full Activity Object (Communication 2.5)."""

from __future__ import annotations

from typing import Any

import orjson

from lrs.ops.context import LrsContext
from lrs.xapi.documents import activity_object


async def get_activity(ctx: LrsContext, activity_id: str) -> dict[str, Any]:
    """The canonical definition that statements gave the activity, or just its id."""
    async with ctx.store.read() as tx:
        stored = await tx.statements.get_activity_definitions([activity_id])
    definition = orjson.loads(stored[activity_id]) if activity_id in stored else None
    return activity_object(activity_id, definition)
