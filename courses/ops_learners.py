"""Use cases about learners: transcripts, administrators' links and unlinks (a transaction each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from courses import _refresh, _resolve
from courses._store_learners import StoredIdentity, StoredLink
from courses.aggregate import CHECKPOINT, lock_derived_state
from courses.catalog import Catalog, Course
from courses.facts import agent_json
from courses.ops import CoursesContext
from courses.rules import Certificate, Progress, decide
from courses.store import CourseQueries, course_queries
from lrs.errors import BadRequest, NotFound
from lrs.xapi.index import agent_key
from lrs.xapi.query import parse_agent_param


@dataclass(frozen=True)
class CourseRecord:
    course: Course
    progress: Progress


@dataclass(frozen=True)
class Transcript:
    learner_id: str
    name: str | None
    identities: list[StoredIdentity]
    records: list[CourseRecord]


def parse_agent(value: Any, what: str = "agent") -> tuple[str, dict[str, Any]]:
    """An xAPI Agent (JSON text or object) checked as the Agents resource checks it, and its key."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    agent = parse_agent_param(text, "2.0.0")
    if agent.get("objectType") == "Group":
        raise BadRequest(f"{what}: a learner is an Agent, not a Group")
    key = agent_key(agent)
    if key is None:
        raise BadRequest(
            f"{what}: an Agent needs an identifier (mbox, mbox_sha1sum, openid or account)"
        )
    return key, agent


async def _transcript(q: CourseQueries, catalog: Catalog, learner_id: str) -> Transcript:
    identities = sorted(
        await q.learners.find_identities_of_learners([learner_id]), key=lambda i: i.key
    )
    if not identities:
        raise NotFound(f"no learner {learner_id!r}")
    rows = {row.course: row for row in await q.progress.find_progress_of_learners([learner_id])}
    held: dict[str, Certificate | None] = {}
    records: list[CourseRecord] = []
    for code in catalog.order:
        row = rows.get(code)
        if row is None:
            continue
        course = catalog.courses[code]
        needed = {pre: held.get(pre) for pre in course.certification.prerequisites}
        progress = decide(course, _refresh.stored_summary(row), needed)
        held[code] = progress.certificate
        records.append(CourseRecord(course, progress))
    order = {code: n for n, code in enumerate(catalog.courses)}
    records.sort(key=lambda r: order[r.course.code])
    name = next((i.name for i in identities if i.name), None)
    return Transcript(learner_id, name, identities, records)


async def get_transcript(cc: CoursesContext, learner_id: str) -> Transcript:
    async with cc.lrs.store.read() as tx:
        q = course_queries(tx)
        return await _transcript(q, await cc.cache.current(q), learner_id)


async def find_transcript_by_agent(cc: CoursesContext, agent: str) -> Transcript:
    key, _ = parse_agent(agent)
    async with cc.lrs.store.read() as tx:
        q = course_queries(tx)
        identity = (await q.learners.get_identities([key])).get(key)
        if identity is None:
            raise NotFound(f"no learner has the identifier {key}")
        return await _transcript(q, await cc.cache.current(q), identity.learner_id)


async def _regroup(q: CourseQueries, catalog: Catalog, keys: set[str], splitting: bool) -> None:
    """Regroup; merged learners' progress merges, split ones are recomputed from the statements
    the aggregator has reached (it folds the later ones itself)."""
    change = await _resolve.regroup(q, keys, splitting)
    await _refresh.merge_learners(q, catalog, change.merged)
    up_to_seq = int(await q.state.get_state(CHECKPOINT) or 0)
    await _refresh.recompute_learners(q, catalog, change.split, up_to_seq)


async def link_identities(cc: CoursesContext, agent_a: Any, agent_b: Any) -> Transcript:
    """Record that two agent identifiers are one official, and recompute their progress."""
    key_a, first = parse_agent(agent_a, "agents[0]")
    key_b, second = parse_agent(agent_b, "agents[1]")
    if key_a == key_b:
        raise BadRequest("agents: both name the same identifier; nothing to link")
    if key_b < key_a:
        (key_a, first), (key_b, second) = (key_b, second), (key_a, first)
    async with cc.lrs.store.write() as tx:
        q = course_queries(tx)
        # Progress writers queue on the checkpoint row, so a link never races the aggregator.
        await lock_derived_state(q)
        catalog = await cc.cache.current(q)
        await q.learners.save_link(StoredLink(key_a, key_b, agent_json(first), agent_json(second)))
        await _regroup(q, catalog, {key_a, key_b}, splitting=False)
        learner_id = (await q.learners.get_identities([key_a]))[key_a].learner_id
        return await _transcript(q, catalog, learner_id)


async def unlink_identity(cc: CoursesContext, agent: Any) -> list[Transcript]:
    """Detach an identifier from its learner: drop its links, stop matching it by email.

    Returns the transcripts of the learners its former group now forms.
    """
    key, _ = parse_agent(agent)
    async with cc.lrs.store.write() as tx:
        q = course_queries(tx)
        await lock_derived_state(q)
        catalog = await cc.cache.current(q)
        identity = (await q.learners.get_identities([key])).get(key)
        if identity is None:
            raise NotFound(f"no learner has the identifier {key}")
        former = {
            i.key for i in await q.learners.find_identities_of_learners([identity.learner_id])
        }
        await q.learners.delete_links_of(key)
        await q.learners.save_detached(key)
        await _regroup(q, catalog, former | {key}, splitting=True)
        now = await q.learners.get_identities(former | {key})
        learner_ids = sorted({i.learner_id for i in now.values()})
        return [await _transcript(q, catalog, learner_id) for learner_id in learner_ids]
