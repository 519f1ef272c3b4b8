"""The aggregator: follows the statement feed from its checkpoint and keeps progress up to date.

A listener only wakes it. Each chunk of the feed is applied in one transaction that also
moves the checkpoint, so nothing is missed or counted twice, even with several server
processes (the checkpoint row is locked and re-read) or a crash between commit and wake-up.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeVar

import orjson

from courses import _refresh, _resolve
from courses._staged import StagedWrites, staged_queries
from courses.catalog import Catalog, catalog_from_documents, empty_catalog
from courses.config import CoursesSettings
from courses.facts import Fact, Identity, identity_of, instant_ms, read_statement
from courses.store import CourseQueries, course_queries
from lrs.ops.context import LrsContext
from lrs.ops.statement_feed import (
    FeedEntry,
    StoredStatement,
    last_seq,
    parse_feed_row,
    read_feed_rows,
)
from lrs.runtime import give_way
from lrs.types import Statement
from lrs.xapi.index import is_voiding, ref_target_key

log = logging.getLogger("lrs.courses")

CHECKPOINT = "feed_checkpoint"
# Moved by every write to learners or progress made outside the aggregator (lock_derived_state).
GENERATION = "derived_generation"
CATALOG_VERSION = "catalog_version"
CATALOG_SITES = "catalog_sites"
CHUNK = 5000
# Most statements offered by this process's listener that are kept until applied. The
# aggregator gives way to requests (lrs.runtime.give_way), so it falls behind under load and
# catches up when they ease: six chunks kept it from reading most of them back from the
# database (bench/RESULTS.md, fifth session).
OFFERED_LIMIT = 6 * CHUNK
POLL_SECONDS = 5.0  # catch up even without a wake-up (another process may have written)
# A follower (no listener wakes it) looks this often whether a whole chunk is waiting.
FOLLOW_POLL_SECONDS = 0.1
GAP_RETRY_SECONDS = 0.05
# With no catalogue loaded there is nothing to fold: a follower looks for one this often
# (loading one recomputes progress from the first statement, so nothing is missed).
NO_CATALOGUE_POLL_SECONDS = 1.0
RETRY_SECONDS = 1.0  # after a chunk failed
# Reading a chunk (~40 ms for 5,000) gives way to the process's HTTP requests this often.
YIELD_EVERY_ENTRIES = 100


class CatalogCache:
    """The stored catalogue, re-read only when its version changes."""

    def __init__(self) -> None:
        self.catalog = empty_catalog()

    async def current(self, q: CourseQueries) -> Catalog:
        version = await q.state.get_state(CATALOG_VERSION) or self.catalog.version
        if version != self.catalog.version:
            documents = await q.catalog.find_course_documents()
            sites = orjson.loads(await q.state.get_state(CATALOG_SITES) or "{}")
            self.catalog = catalog_from_documents(documents, sites)
        return self.catalog


@dataclass
class Batch:
    """What a chunk of the feed says, before any I/O."""

    identities: list[Identity] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)


class Reading(NamedTuple):
    """What one stored statement tells the aggregator, read once (courses.facts)."""

    seq: int
    stored: str | None  # how old a hole before it is (see _hole_is_final)
    voids: str | None  # a voiding statement: the statement it voids
    identity: Identity | None
    facts: tuple[Fact, ...]  # none once the statement is voided


def read_entry(entry: FeedEntry, catalog: Catalog) -> Reading:
    """What the entry says; its actor even when voided (the identity is not the claim)."""
    statement: Statement = entry.statement
    stored = statement.get("stored")
    if is_voiding(statement):
        return Reading(entry.seq, stored, ref_target_key(statement), None, ())
    identity, facts = read_statement(entry.seq, statement, catalog)
    return Reading(entry.seq, stored, None, identity, () if entry.voided else tuple(facts))


async def read_rows(rows: list[StoredStatement], catalog: Catalog) -> list[Reading]:
    """read_entry for each feed row, parsed in turn and let go (lrs.ops.statement_feed), giving
    way to requests every YIELD_EVERY_ENTRIES."""
    readings: list[Reading] = []
    for count, row in enumerate(rows, start=1):
        if count % YIELD_EVERY_ENTRIES == 0:
            await give_way()
        readings.append(read_entry(parse_feed_row(row), catalog))
    return readings


def read_batch(readings: list[Reading]) -> Batch:
    """The chunk's identities, facts and voided statements, in feed order."""
    batch = Batch()
    for reading in readings:
        if reading.voids is not None:
            batch.voided.append(reading.voids)
        elif reading.identity is not None:
            batch.identities.append(reading.identity)
            batch.facts += reading.facts
    return batch


async def _learners_of_voided(q: CourseQueries, statement_ids: list[str]) -> set[str]:
    """The learners whose statements these are: their progress is recomputed without them."""
    if not statement_ids:
        return set()
    keys = {
        i.key
        for e in await q.evidence.get_statements(statement_ids)
        if (i := identity_of(e.statement))
    }
    return {row.learner_id for row in (await q.learners.get_identities(keys)).values()}


def _facts_by_learner(
    facts: list[Fact], learner_of: dict[str, str], recomputed: set[str]
) -> dict[str, list[Fact]]:
    """New facts by learner, leaving out learners recomputed from their statements anyway."""
    by_learner: dict[str, list[Fact]] = {}
    for fact in facts:
        learner_id = learner_of[fact.agent_key]
        if learner_id not in recomputed:
            by_learner.setdefault(learner_id, []).append(fact)
    return by_learner


async def apply_batch(q: CourseQueries, catalog: Catalog, batch: Batch, up_to_seq: int) -> None:
    """Record identities, fold new facts into progress, recompute learners regrouped or voided."""
    regrouped, learner_of = await _resolve.observe_identities(q, batch.identities)
    await _refresh.merge_learners(q, catalog, regrouped.merged)
    recompute = await _learners_of_voided(q, batch.voided)
    new_by_learner = _facts_by_learner(batch.facts, learner_of, recompute)
    await _refresh.recompute_learners(q, catalog, recompute, up_to_seq)
    await _refresh.fold_new_facts(q, catalog, new_by_learner)


@dataclass
class StagedChunk:
    """A chunk applied on a snapshot: the writes to make, valid while the generation holds."""

    generation: str | None
    writes: StagedWrites


async def stage_batch(
    q: CourseQueries, catalog: Catalog, batch: Batch, up_to_seq: int
) -> StagedChunk:
    """apply_batch on a read transaction, its writes kept for the write turn (see _staged).

    Valid as long as nothing else wrote learners or progress since: the caller checks the
    checkpoint (other aggregators) and the generation, read first (everything else).
    """
    generation = await q.state.get_state(GENERATION)
    staged_q, writes = staged_queries(q)
    await apply_batch(staged_q, catalog, batch, up_to_seq)
    return StagedChunk(generation, writes)


async def lock_derived_state(q: CourseQueries) -> None:
    """Call before writing learners or progress outside the aggregator (links, catalogues).

    Queues on the checkpoint row, as the aggregator does, and moves the generation, so a
    chunk staged on an earlier snapshot is applied again from the rows as they are now.
    """
    await q.state.get_state(CHECKPOINT, for_update=True)
    generation = int(await q.state.get_state(GENERATION) or 0)
    await q.state.save_state(GENERATION, str(generation + 1))


class _Numbered(Protocol):
    @property
    def seq(self) -> int: ...


N = TypeVar("N", bound=_Numbered)


def contiguous(entries: Sequence[N], checkpoint: int) -> tuple[list[N], N | None]:
    """The entries that follow the checkpoint without a hole, and the first entry after a hole.

    A statement's number is taken before its transaction commits: a hole is a write that
    rolled back, or (on a store that lets writers overlap) one still to commit.
    """
    expected = checkpoint + 1
    for position, entry in enumerate(entries):
        if entry.seq != expected:
            return list(entries[:position]), entry
        expected += 1
    return list(entries), None


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause CPython's cycle collector while a chunk is applied.

    A chunk parses thousands of statements into short-lived, acyclic dicts that reference
    counting frees; the collector would otherwise rescan them many times over (it doubled the
    feed's cost in bench/progress.py). Other tasks running meanwhile only defer collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Aggregator:
    def __init__(
        self, ctx: LrsContext, settings: CoursesSettings, cache: CatalogCache | None = None
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.cache = cache or CatalogCache()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._pending = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._hole_seen: dict[int, float] = {}  # first missing seq -> when first seen
        # Statements this process stored, by seq, read as its listener was told of them
        # (while each is still in the CPU's cache), with the catalogue they were read
        # against. Only what they say is kept: kept whole as dicts, 10,000 statements raised
        # the process's peak RSS by ~80 MB. A chunk that starts at the checkpoint is taken
        # from here rather than read back from the database; anything missing is read from
        # the feed.
        self._offered: dict[int, Reading] = {}
        self._offered_catalog = ""
        # Whether the last chunk found no catalogue loaded (a follower then polls slowly).
        self._no_catalogue = False

    # --- the background loop ---------------------------------------------------------------

    def wake(self, stored: int = 0) -> None:
        """Statements were stored: catch up soon, at once when a whole chunk is waiting."""
        self._pending += stored
        self._wake.set()
        if self._pending >= CHUNK:
            self._full.set()

    def offer(self, entries: list[FeedEntry]) -> None:
        """Statements just stored by this process; kept up to OFFERED_LIMIT (memory)."""
        catalog = self.cache.catalog
        if not catalog.courses:
            return  # no catalogue (yet): nothing to apply them to, and loading one recomputes
        self._keep_offered_of(catalog)
        if len(self._offered) + len(entries) <= OFFERED_LIMIT:
            self._offered.update((e.seq, read_entry(e, catalog)) for e in entries)

    def _keep_offered_of(self, catalog: Catalog) -> None:
        """Forget what was read against another catalogue: the feed is read again instead."""
        if catalog.version != self._offered_catalog:
            self._offered.clear()
            self._offered_catalog = catalog.version

    def _take_offered(self, after: int) -> list[Reading]:
        """The offered statements that follow the checkpoint without a hole (maybe none)."""
        taken: list[Reading] = []
        while len(taken) < CHUNK and (kept := self._offered.pop(after + 1, None)) is not None:
            after += 1
            taken.append(kept)
        # Applied meanwhile from the feed, here or by another process: not needed any more.
        for seq in [s for s in self._offered if s <= after]:
            del self._offered[seq]
        return taken

    async def _next_readings(self, after: int, catalog: Catalog) -> list[Reading]:
        """Up to a chunk of statements after the checkpoint: those this process was offered,
        then the feed's. A short chunk must mean the feed has no more for now: catch_up
        waits for the next wake-up after one."""
        self._keep_offered_of(catalog)
        readings = self._take_offered(after)
        if len(readings) < CHUNK:
            start = readings[-1].seq if readings else after
            rows = await read_feed_rows(self.ctx, start, CHUNK - len(readings))
            readings += await read_rows(rows, catalog)
        return readings

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="courses-aggregator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def follow(self) -> None:
        """Keep progress up to date until cancelled, polling the feed (`lrs progress follow`,
        the background process of `lrs serve`)."""
        while True:
            try:
                applied = await self.catch_up(until_idle=False)
                if self._no_catalogue:
                    await asyncio.sleep(NO_CATALOGUE_POLL_SECONDS)
                elif applied < CHUNK:
                    await self._gather()
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost connection, say: a follower is left to run for days
                log.exception("progress aggregation failed; will retry")
                await asyncio.sleep(RETRY_SECONDS)

    async def _gather(self) -> None:
        """Let statements gather while they keep arriving: until a whole chunk waits, or none
        came in a poll (the stream paused: apply what is there), at most the delay."""
        deadline = time.monotonic() + self.settings.aggregate_delay_seconds
        seen = await last_seq(self.ctx)
        while time.monotonic() < deadline:
            await asyncio.sleep(min(FOLLOW_POLL_SECONDS, self.settings.aggregate_delay_seconds))
            checkpoint, catalog = await self._checkpoint()
            newest = await last_seq(self.ctx)
            if catalog is not None and (newest == seen or newest - checkpoint >= CHUNK):
                return
            seen = newest

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                # Let statements gather for a moment: one chunk of many costs far less than
                # many chunks of a few (each reads learners' rows and writes them back).
                await asyncio.wait_for(self._full.wait(), self.settings.aggregate_delay_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            self._full.clear()
            self._pending = 0
            try:
                await self.catch_up(until_idle=False)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep following the feed; the next wake-up retries the chunk
                log.exception("progress aggregation failed; will retry")
                await asyncio.sleep(RETRY_SECONDS)

    # --- catching up ---------------------------------------------------------------------

    async def catch_up(self, until_idle: bool = True) -> int:
        """Apply the committed statements after the checkpoint; return how many were applied.

        With `until_idle`, go on until none is left; otherwise stop at the first chunk that is
        not full, rather than chase a stream still arriving a few statements at a time.
        """
        applied = 0
        async with self._lock:
            while True:
                with _no_cycle_collection():
                    done, waiting = await self._apply_chunk()
                applied += done
                if waiting:
                    await asyncio.sleep(GAP_RETRY_SECONDS)
                elif done == 0 or (done < CHUNK and not until_idle):
                    return applied

    async def _checkpoint(self) -> tuple[int, Catalog | None]:
        """The checkpoint and the catalogue (None before one is loaded)."""
        async with self.ctx.store.read() as tx:
            q = course_queries(tx)
            if await q.state.get_state(CATALOG_VERSION) is None:
                return 0, None
            return int(await q.state.get_state(CHECKPOINT) or 0), await self.cache.current(q)

    async def _apply_chunk(self) -> tuple[int, bool]:
        """(statements applied, whether a hole in the feed is being waited for)."""
        after, catalog = await self._checkpoint()
        self._no_catalogue = catalog is None
        if catalog is None:
            self._offered.clear()
            return 0, False  # no catalogue yet: loading one recomputes from the first statement
        entries = await self._next_readings(after, catalog)
        if not entries:
            return 0, False
        usable, after_hole = contiguous(entries, after)
        if not usable and after_hole is not None:
            if not self._hole_is_final(after, after_hole):
                return 0, True
            usable, _ = contiguous(entries, after_hole.seq - 1)
        # Entries left over lie beyond another hole: apply these, then look at it again.
        waiting = len(usable) < len(entries)
        # Working out the writes needs no lock: ingestion waits only for the writes themselves.
        batch = read_batch(usable)
        async with self.ctx.store.read() as tx:
            staged = await stage_batch(course_queries(tx), catalog, batch, usable[-1].seq)
        # Progress is plugins' tables alone: on SQLite, statements go on being stored meanwhile.
        async with self.ctx.store.write(tables="plugins") as tx:
            q = course_queries(tx)
            if int(await q.state.get_state(CHECKPOINT, for_update=True) or 0) != after:
                return 0, False  # another process moved it (or a rebuild reset it): read again
            if (await self.cache.current(q)).version != catalog.version:
                return 0, False  # a new catalogue was loaded meanwhile: read again
            if await q.state.get_state(GENERATION) == staged.generation:
                await staged.writes.replay(q)
            else:  # a link or the like changed learners meanwhile: apply from the rows as now
                await apply_batch(q, catalog, batch, usable[-1].seq)
            await q.state.save_state(CHECKPOINT, str(usable[-1].seq))
        return len(usable), waiting

    def _hole_is_final(self, checkpoint: int, after_hole: Reading) -> bool:
        """A hole is a rolled-back insert once it is older than the configured wait."""
        now = time.monotonic()
        first_seen = self._hole_seen.setdefault(checkpoint + 1, now)
        stored_ms = instant_ms(after_hole.stored) or 0
        age = max(now - first_seen, time.time() - stored_ms / 1000)
        if age < self.settings.gap_wait_seconds:
            return False
        self._hole_seen.pop(checkpoint + 1, None)
        log.warning(
            "statements %d..%d never appeared; moving on", checkpoint + 1, after_hole.seq - 1
        )
        return True
