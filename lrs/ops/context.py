"""What every use case needs: the store, the settings, the stored-time clock and the listeners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from lrs.config import Settings
from lrs.store.sql import SqlStore
from lrs.types import Statement
from lrs.xapi.prepare import StoredClock


class StatementListener(Protocol):
    """Plug-in point for code outside the xAPI core (e.g. course progress), called after commit."""

    async def statements_stored(self, statements: list[Statement]) -> None: ...

    async def statements_voided(self, statement_ids: list[str]) -> None: ...


@dataclass
class LrsContext:
    store: SqlStore
    settings: Settings
    clock: StoredClock = field(default_factory=StoredClock)
    listeners: list[StatementListener] = field(default_factory=list)
