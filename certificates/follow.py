"""The follower: after the courses aggregator, decide certificates for the learners it touched.

It reads the statement feed from its own checkpoint, never past the courses plugin's (the
progress it reads must already include those statements), and finds the learners of each
chunk's statements and of the statements they void. A new catalogue (whose progress the
courses plugin recomputes from the first statement) is followed by a decision for every
learner once the courses plugin is back where this follower was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson

from certificates import acts, ops, rules, statements
from certificates.store import CertificateFilter, CertQueries, StoredCertificate, cert_queries
from courses import _refresh
from courses.aggregate import CATALOG_VERSION
from courses.aggregate import CHECKPOINT as COURSES_CHECKPOINT
from courses.catalog import Catalog
from courses.facts import identity_of
from courses.rules import evidence
from lrs.xapi.index import is_voiding, ref_target_key

CATALOG_SEEN = "catalog_seen"
CHUNK = 1000


def _course_rules(catalog: Catalog, documents: list[dict[str, Any]]) -> list[rules.CourseRule]:
    sign_off = {str(d["code"]): bool(d["certification"].get("sign_off")) for d in documents}
    return [
        rules.CourseRule(
            code,
            catalog.courses[code].version,
            catalog.courses[code].certification.prerequisites,
            sign_off.get(code, False),
        )
        for code in catalog.order
    ]


def _held(certificates: list[StoredCertificate]) -> dict[str, rules.Held]:
    latest: dict[str, rules.Held] = {}
    for c in certificates:  # oldest first: the last one per course stays
        latest[c.course] = rules.Held(
            c.id,
            c.status,
            c.valid_from_ms,
            c.expires_ms,
            tuple(c.evidence_ids),
            c.requalify_after_ms,
        )
    return latest


async def _issue(
    q: CertQueries, cx: ops.CertContext, learner_id: str, keys: list[str], decision: rules.Issue
) -> None:
    identities = await q.courses.learners.get_identities(keys)
    first = identities[min(keys)]
    name = next((i.name for i in identities.values() if i.name), None)
    met, at = decision.qualification, ops.now_ms()
    issued = decision.status == rules.ISSUED
    certificate = StoredCertificate(
        id=str(uuid.uuid4()),
        learner_id=learner_id,
        agent_key=min(keys),
        agent=first.agent,
        learner_name=name,
        course=decision.course,
        course_version=decision.version,
        status=decision.status,
        valid_from_ms=met.met_ms or at,
        expires_ms=met.expires_ms,
        created_ms=at,
        issued_ms=None,
        issued_by=None,
        revoked_ms=None,
        revoked_by=None,
        reason=None,
        requalify_after_ms=None,
        evidence=orjson.dumps(list(met.evidence)).decode(),
        token=None,
    )
    await q.certificates.save(certificate)
    if issued:
        by = f"rule:{decision.course}@{decision.version}"
        token = await ops.sign_and_record_issue(q, cx, certificate, by, at)
        await q.certificates.update(certificate.id, issued_ms=at, issued_by=by, token=token)
    await ops.record(
        q,
        ops.SYSTEM_ACTOR,
        "certificate.issued" if issued else "certificate.awaiting_approval",
        learner=learner_id,
        course=decision.course,
        subject=certificate.id,
        detail={
            "course_version": decision.version,
            "evidence": list(met.evidence),
            "reissue_of": decision.reissue_of,
        },
    )


async def reconcile_learners(
    q: CertQueries, cx: ops.CertContext, learner_ids: Iterable[str], voided: set[str]
) -> int:
    """Decide every certificate of these learners; return how many decisions were made."""
    learner_ids = sorted(set(learner_ids))
    if not learner_ids:
        return 0
    catalog = await cx.courses.cache.current(q.courses)
    order = _course_rules(catalog, await q.courses.catalog.find_course_documents())
    keys_of: dict[str, list[str]] = {}
    for identity in await q.courses.learners.find_identities_of_learners(learner_ids):
        keys_of.setdefault(identity.learner_id, []).append(identity.key)
    progress: dict[str, dict[str, rules.Qualification]] = {}
    for row in await q.courses.progress.find_progress_of_learners(learner_ids):
        progress.setdefault(row.learner_id, {})[row.course] = rules.Qualification(
            row.certificate_ms,
            row.expires_ms,
            row.last_ms,
            evidence(_refresh.stored_summary(row)),
        )
    made = 0
    for learner_id in learner_ids:
        keys = keys_of.get(learner_id, [])
        certificates = await q.certificates.find_of_learner(learner_id, keys)
        for c in certificates:
            if c.learner_id != learner_id and keys:  # identities merged since it was issued
                await q.certificates.update(c.id, learner_id=learner_id)
        decisions = rules.decide_learner(
            order, progress.get(learner_id, {}), _held(certificates), voided
        )
        for decision in decisions:
            if isinstance(decision, rules.Issue) and keys:
                await _issue(q, cx, learner_id, keys, decision)
            elif isinstance(decision, rules.Flag):
                await q.certificates.update(
                    decision.certificate_id, status=rules.REVIEW, reason=decision.reason
                )
                await ops.record(
                    q,
                    ops.SYSTEM_ACTOR,
                    "certificate.flagged_for_review",
                    learner=learner_id,
                    course=decision.course,
                    subject=decision.certificate_id,
                    detail={"reason": decision.reason},
                )
        made += len(decisions)
    return made


async def _learners_of_keys(q: CertQueries, keys: Iterable[str]) -> set[str]:
    return {i.learner_id for i in (await q.courses.learners.get_identities(set(keys))).values()}


async def _learners_of_chunk(
    q: CertQueries, after: int, up_to: int
) -> tuple[set[str], set[str], int, bool]:
    """(learners, voided statement ids, the last seq read, whether more statements wait)."""
    rows = await q.lrs.statements.find_statements_after(after, CHUNK)
    usable = [row for row in rows if row.seq <= up_to]
    keys: set[str] = set()
    voided: set[str] = set()
    for row in usable:
        statement = orjson.loads(row.body)
        if statement.get("verb", {}).get("id") in statements.OWN_VERBS:
            continue
        if is_voiding(statement):
            target = ref_target_key(statement)
            if target is not None:
                voided.add(target)
            continue
        identity = identity_of(statement)
        if identity is not None:
            keys.add(identity.key)
    if voided:
        for stored in await q.courses.evidence.get_statements(sorted(voided)):
            identity = identity_of(stored.statement)
            if identity is not None:
                keys.add(identity.key)
        owners = await q.certificates.find_by_evidence(sorted(voided))
        keys |= {c.agent_key for c in owners}
    more = len(rows) == CHUNK and len(usable) == len(rows)
    last = usable[-1].seq if more else up_to
    return await _learners_of_keys(q, keys), voided, last, more


async def step(cx: ops.CertContext) -> tuple[int, bool]:
    """One chunk in one transaction: (decisions made, whether to go on). It writes plugins'
    tables alone (statements it decides wait in the outbox): statements go on being stored."""
    async with cx.lrs.store.write(tables="plugins") as tx:
        q = cert_queries(tx)
        await q.state.add_state_once(ops.FOLLOW_CHECKPOINT, "0")
        mine = int(await q.state.get_state(ops.FOLLOW_CHECKPOINT, for_update=True) or 0)
        relinked = await acts.record_detected_acts(q)
        version = await q.courses.state.get_state(CATALOG_VERSION)
        courses_at = int(await q.courses.state.get_state(COURSES_CHECKPOINT) or 0)
        if version is None or courses_at < mine:
            return 0, False  # no catalogue, or the courses plugin is recomputing progress
        if await q.state.get_state(CATALOG_SEEN) != version:
            everyone = await q.peek.find_certified_learners()
            everyone |= await _learners_of_keys(
                q, [c.agent_key for c in await q.certificates.find(_all(), 10**9, 0)]
            )
            made = await reconcile_learners(q, cx, everyone, set())
            await q.state.save_state(CATALOG_SEEN, version)
            await q.state.save_state(ops.FOLLOW_CHECKPOINT, str(courses_at))
            return made, False
        learners, voided, last, more = await _learners_of_chunk(q, mine, courses_at)
        learners |= await _learners_of_keys(q, relinked)
        made = await reconcile_learners(q, cx, learners, voided)
        await q.state.save_state(ops.FOLLOW_CHECKPOINT, str(last))
        return made, more


def _all() -> CertificateFilter:
    return CertificateFilter()


async def catch_up(cx: ops.CertContext) -> int:
    """Follow until caught up with the courses plugin, then store the statements decided."""
    made = 0
    while True:
        done, more = await step(cx)
        made += done
        if not more:
            break
    await ops.flush_outbox(cx)
    return made
