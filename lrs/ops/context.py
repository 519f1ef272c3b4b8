"""What every use case needs: the store, the settings, the stored-time clock and the listeners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lrs.config import Settings
from lrs.store.sql import SqlStore
from lrs.types import FeedEntry
from lrs.xapi.prepare import StoredClock

if TYPE_CHECKING:
    from lrs.ops._group_commit import Committer


class StatementListener(Protocol):
    """Told after each commit which statements this process stored (as feed entries: each
    with its `seq`) and which ids they voided.

    Listeners that keep derived state should read `lrs.ops.statement_feed` from their own
    checkpoint rather than trust every notification to arrive (a process can die between
    commit and notification, and other processes store statements too). The entries may
    spare them reading back what this process stored.
    """

    async def statements_stored(self, entries: list[FeedEntry], voided_ids: list[str]) -> None: ...


# How many activity definitions a process remembers as stored (see save_statements).
KNOWN_DEFINITIONS_LIMIT = 20_000


@dataclass
class LrsContext:
    store: SqlStore
    settings: Settings
    clock: StoredClock = field(default_factory=StoredClock)
    listeners: list[StatementListener] = field(default_factory=list)
    # Activity definitions this process knows to be stored as they are: lets a batch that
    # repeats them skip reading and writing the activity table.
    known_definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Stores statement batches: in this process, or in the writer process (lrs.ops.writer);
    # made on first use (save_statements).
    committer: Committer | None = None
    # (monotonic time, value) of the last Consistent-Through asked of the database.
    consistency: tuple[float, int] | None = None

    def remember_definitions(self, definitions: dict[str, dict[str, Any]]) -> None:
        if len(self.known_definitions) + len(definitions) > KNOWN_DEFINITIONS_LIMIT:
            self.known_definitions.clear()
        self.known_definitions.update(definitions)
