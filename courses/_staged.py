"""Staged writes: apply a chunk on a read snapshot, keep its writes, replay them in the turn.

The aggregator's reads and its Python work (identities, regrouping, folding summaries) then
happen outside the write turn, which ingestion waits for; inside it only the writes run. The
same code (aggregate.apply_batch) does the work either way: here its queries for learners and
progress keep every write and answer later reads as if it had been made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

from courses._store_learners import LearnerQueries, StoredIdentity, StoredLink
from courses._store_progress import ProgressQueries, StoredProgress
from courses.store import CourseQueries

# (which queries, which method, its arguments), in the order apply_batch made them.
Write = tuple[str, str, tuple[Any, ...]]


@dataclass
class StagedWrites:
    writes: list[Write] = field(default_factory=list)

    async def replay(self, q: CourseQueries) -> None:
        """Make the kept writes, in order, in the caller's (write) transaction."""
        for queries, method, args in self.writes:
            await getattr(getattr(q, queries), method)(*args)


def _not_staged(method: str) -> NoReturn:
    raise NotImplementedError(f"{method} is not staged: call it in a write transaction")


class StagedLearners(LearnerQueries):
    """Identities as the stored ones plus the chunk's writes; links are only read."""

    def __init__(self, stored: LearnerQueries, staged: StagedWrites) -> None:
        super().__init__(stored.conn, stored.engine)
        self.staged = staged
        self.rows: dict[str, StoredIdentity] = {}  # each identity the chunk wrote, as it left it

    def _overlaid(
        self, found: Iterable[StoredIdentity], keep: Callable[[StoredIdentity], bool]
    ) -> list[StoredIdentity]:
        rows = {i.key: self.rows.get(i.key, i) for i in found}
        rows.update({key: row for key, row in self.rows.items() if keep(row)})
        return [row for row in rows.values() if keep(row)]

    async def get_identities(self, keys: Iterable[str]) -> dict[str, StoredIdentity]:
        wanted = set(keys)
        found = (await super().get_identities(wanted)).values()
        return {row.key: row for row in self._overlaid(found, lambda r: r.key in wanted)}

    async def find_identities_by_email(self, email_sha1s: Iterable[str]) -> list[StoredIdentity]:
        wanted = set(email_sha1s)
        found = await super().find_identities_by_email(wanted)
        return self._overlaid(found, lambda r: r.email_sha1 in wanted)

    async def find_identities_of_learners(self, learner_ids: Iterable[str]) -> list[StoredIdentity]:
        wanted = set(learner_ids)
        found = await super().find_identities_of_learners(wanted)
        return self._overlaid(found, lambda r: r.learner_id in wanted)

    async def save_identities(self, identities: list[StoredIdentity]) -> None:
        self.rows.update({i.key: i for i in identities})
        self.staged.writes.append(("learners", "save_identities", (list(identities),)))

    async def update_identity_details(
        self, key: str, email_sha1: str | None, name: str | None
    ) -> None:
        row = (await self.get_identities([key])).get(key)
        if row is not None:
            self.rows[key] = replace(row, email_sha1=email_sha1, name=name)
        self.staged.writes.append(("learners", "update_identity_details", (key, email_sha1, name)))

    async def move_identities(self, moves: dict[str, str]) -> None:
        current = await self.get_identities(moves)
        for key, learner_id in moves.items():
            if key in current:
                self.rows[key] = replace(current[key], learner_id=learner_id)
        self.staged.writes.append(("learners", "move_identities", (dict(moves),)))

    async def delete_all_identities(self) -> None:
        _not_staged("delete_all_identities")

    async def save_link(self, link: StoredLink) -> None:
        _not_staged("save_link")

    async def delete_links_of(self, key: str) -> int:
        _not_staged("delete_links_of")

    async def save_detached(self, key: str) -> None:
        _not_staged("save_detached")

    async def delete_detached(self, keys: Iterable[str]) -> None:
        _not_staged("delete_detached")


class StagedProgress(ProgressQueries):
    """Progress rows as the stored ones plus the chunk's saves and deletions."""

    def __init__(self, stored: ProgressQueries, staged: StagedWrites) -> None:
        super().__init__(stored.conn, stored.engine)
        self.staged = staged
        self.deleted: set[str] = set()  # learners whose stored rows the chunk deleted
        self.rows: dict[tuple[str, str], StoredProgress] = {}  # (learner, course) saved since

    async def find_progress_of_learners(self, learner_ids: Iterable[str]) -> list[StoredProgress]:
        wanted = set(learner_ids)
        found = await super().find_progress_of_learners(wanted - self.deleted)
        rows = {(r.learner_id, r.course): r for r in found}
        rows.update({k: r for k, r in self.rows.items() if k[0] in wanted})
        return list(rows.values())

    async def save_progress(self, rows: list[StoredProgress]) -> None:
        self.rows.update({(r.learner_id, r.course): r for r in rows})
        self.staged.writes.append(("progress", "save_progress", (list(rows),)))

    async def delete_progress_of_learners(self, learner_ids: Iterable[str]) -> None:
        gone = set(learner_ids)
        self.deleted |= gone
        self.rows = {k: r for k, r in self.rows.items() if k[0] not in gone}
        self.staged.writes.append(("progress", "delete_progress_of_learners", (gone,)))

    async def delete_all_progress(self) -> None:
        _not_staged("delete_all_progress")


def staged_queries(q: CourseQueries) -> tuple[CourseQueries, StagedWrites]:
    """Queries that read through `q` and keep the writes to learners and progress."""
    staged = StagedWrites()
    learners = StagedLearners(q.learners, staged)
    progress = StagedProgress(q.progress, staged)
    return replace(q, learners=learners, progress=progress), staged
