"""Bring progress rows up to date inside the caller's transaction: fold new facts, or recompute.

New facts fold into the stored summaries (courses.summary); voided statements' learners and
split learners are recomputed from their stored statements, which are the evidence; merged
learners' summaries merge. Each course is then decided by courses.rules, in prerequisite
order, so a certificate sees the prerequisite certificates it depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from courses import summary as summaries
from courses._store_progress import StoredProgress, detail_json
from courses.catalog import Catalog
from courses.facts import Fact, read_statement
from courses.rules import Certificate, Progress, decide
from courses.store import CourseQueries
from courses.summary import CourseSummary
from lrs.runtime import give_way

# The aggregator shares its process's event loop with HTTP requests: folding a chunk's facts
# (up to ~0.1 s) gives way to them every so many learners (lrs.runtime.give_way).
YIELD_EVERY_LEARNERS = 25


def progress_row(learner_id: str, progress: Progress) -> StoredProgress:
    certificate = progress.certificate
    detail = {
        "summary": summaries.to_json(progress.summary),
        "missing": list(progress.missing_prerequisites),
    }
    return StoredProgress(
        course=progress.course,
        learner_id=learner_id,
        status=progress.status,
        best_score=progress.best_score,
        attendance_days=progress.attendance_days,
        first_ms=progress.first_ms,
        last_ms=progress.last_ms,
        completed_ms=progress.completed_ms,
        certificate_ms=certificate.issued_ms if certificate else None,
        expires_ms=certificate.expires_ms if certificate else None,
        country=progress.country,
        cohort=progress.cohort,
        started_mask=progress.started_mask,
        done_mask=progress.done_mask,
        detail=detail_json(detail),
    )


def stored_summary(row: StoredProgress) -> CourseSummary:
    return summaries.from_json(orjson.loads(row.detail)["summary"])


def stored_certificate(row: StoredProgress) -> Certificate | None:
    return (
        Certificate(row.certificate_ms, row.expires_ms) if row.certificate_ms is not None else None
    )


def decide_learner(
    catalog: Catalog,
    learner_id: str,
    course_summaries: Mapping[str, CourseSummary],
    changed: Iterable[str],
    held: dict[str, Certificate | None],
) -> list[StoredProgress]:
    """Rows for the changed courses and the courses needing their certificates."""
    redo = catalog.dependents(changed) & course_summaries.keys()
    rows: list[StoredProgress] = []
    for code in catalog.order:
        if code not in redo:
            continue
        course = catalog.courses[code]
        needed = {pre: held.get(pre) for pre in course.certification.prerequisites}
        progress = decide(course, course_summaries[code], needed)
        held[code] = progress.certificate
        rows.append(progress_row(learner_id, progress))
    return rows


def _by_course(facts: Iterable[Fact], catalog: Catalog) -> dict[str, list[Fact]]:
    grouped: dict[str, list[Fact]] = {}
    for fact in facts:
        if fact.course in catalog.courses:
            grouped.setdefault(fact.course, []).append(fact)
    return grouped


async def fold_new_facts(
    q: CourseQueries, catalog: Catalog, facts_by_learner: dict[str, list[Fact]]
) -> None:
    """Fold each learner's new facts into their stored summaries and save the changed rows."""
    if not facts_by_learner:
        return
    existing: dict[str, dict[str, StoredProgress]] = {}
    for row in await q.progress.find_progress_of_learners(facts_by_learner):
        existing.setdefault(row.learner_id, {})[row.course] = row
    saved: list[StoredProgress] = []
    for count, (learner_id, facts) in enumerate(facts_by_learner.items(), start=1):
        if count % YIELD_EVERY_LEARNERS == 0:
            await give_way()  # the server process's requests go on meanwhile
        rows = existing.get(learner_id, {})
        new = _by_course(facts, catalog)
        # Only the changed courses and those needing their certificates are decided again.
        redo = catalog.dependents(new) & (rows.keys() | new.keys())
        current = {code: stored_summary(rows[code]) for code in redo if code in rows}
        for code, course_facts in new.items():
            merged = summaries.merge(current.get(code), summaries.summarize(course_facts))
            if merged is not None:
                current[code] = merged
        held = {code: stored_certificate(row) for code, row in rows.items()}
        saved += decide_learner(catalog, learner_id, current, new, held)
    await q.progress.save_progress(saved)


async def recompute_learners(
    q: CourseQueries, catalog: Catalog, learner_ids: set[str], up_to_seq: int
) -> None:
    """Replace every progress row of these learners from their stored statements up to a seq
    (an id no identity carries any more just loses its rows)."""
    if not learner_ids:
        return
    await q.progress.delete_progress_of_learners(learner_ids)
    identities = await q.learners.find_identities_of_learners(learner_ids)
    learner_of = {i.key: i.learner_id for i in identities}
    facts_by_learner: dict[str, list[Fact]] = {}
    for entry in await q.evidence.find_statements_of_agents(learner_of, up_to_seq):
        identity, facts = read_statement(entry.seq, entry.statement, catalog)
        if identity is None or identity.key not in learner_of:
            continue  # the agent is the object, or in a Group: not this learner's own statement
        facts_by_learner.setdefault(learner_of[identity.key], []).extend(facts)
    saved: list[StoredProgress] = []
    for learner_id, facts in facts_by_learner.items():
        current: dict[str, CourseSummary] = {}
        for code, course_facts in _by_course(facts, catalog).items():
            summary = summaries.summarize(course_facts)
            if summary is not None:
                current[code] = summary
        saved += decide_learner(catalog, learner_id, current, current.keys(), {})
    await q.progress.save_progress(saved)


async def merge_learners(q: CourseQueries, catalog: Catalog, merged: dict[str, set[str]]) -> None:
    """Learners found to be one person: their summaries merge (each statement is one actor's)."""
    if not merged:
        return
    involved = {i for new, old in merged.items() for i in (new, *old)}
    rows: dict[str, list[StoredProgress]] = {}
    for row in await q.progress.find_progress_of_learners(involved):
        rows.setdefault(row.learner_id, []).append(row)
    await q.progress.delete_progress_of_learners(involved)
    saved: list[StoredProgress] = []
    for learner_id, former in merged.items():
        current: dict[str, CourseSummary] = {}
        for old_id in {learner_id, *former}:
            for row in rows.get(old_id, []):
                if row.course in catalog.courses:
                    merged_summary = summaries.merge(current.get(row.course), stored_summary(row))
                    if merged_summary is not None:
                        current[row.course] = merged_summary
        saved += decide_learner(catalog, learner_id, current, current.keys(), {})
    await q.progress.save_progress(saved)
