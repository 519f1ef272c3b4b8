"""Use cases of the certificates plugin: keys, audit, approval, revocation, listing, verification.

One transaction each. Decisions that record xAPI statements put them in an outbox in the same
transaction; `flush_outbox` then stores them through the LRS (lrs.ops.save_statements), so a
crash between the two loses nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from certificates import chain, rules, signing, statements
from certificates.store import (
    AuditFilter,
    CertificateFilter,
    CertQueries,
    StoredCertificate,
    cert_queries,
)
from courses.catalog import Catalog
from courses.ops import CoursesContext
from lrs.errors import BadRequest, Conflict, NotFound
from lrs.ops.context import LrsContext
from lrs.ops.save_statements import Writer, save_statements
from lrs.xapi.prepare import Authority, authority_agent

FOLLOW_CHECKPOINT = "follow_checkpoint"
SYSTEM_ACTOR = "lrs"
OUTBOX_BATCH = 500
MAX_REASON = 500


@dataclass
class CertContext:
    lrs: LrsContext
    courses: CoursesContext

    @property
    def base_iri(self) -> str:
        return self.courses.settings.base_iri.rstrip("/")

    def writer(self) -> Writer:
        """The LRS itself as the authority of the statements it records (Data 2.4.9)."""
        agent = authority_agent("ACBC LRS", "certificates", self.lrs.settings.authority_homepage)
        return Writer(Authority("acbc-lrs/certificates", agent), may_define=True)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- audit -----------------------------------------------------------------------------------


async def record(q: CertQueries, actor: str, action: str, **about: Any) -> chain.Entry:
    """Append one entry to the audit log inside the caller's transaction."""
    entry = chain.next_entry(await q.audit.lock_head(), now_ms(), actor, action, **about)
    await q.audit.append(entry)
    return entry


async def record_act(cx: CertContext, actor: str, action: str, **about: Any) -> chain.Entry:
    async with cx.lrs.store.write() as tx:
        return await record(cert_queries(tx), actor, action, **about)


async def verify_audit(cx: CertContext) -> tuple[int, str | None]:
    """(entries checked, the first break named) over the whole chain."""
    entries: list[chain.Entry] = []
    async with cx.lrs.store.read() as tx:
        q = cert_queries(tx)
        head = await q.audit.get_head()
        while batch := await q.audit.find_all_entries(entries[-1].seq if entries else 0, 5000):
            entries += batch
    return len(entries), chain.first_break(entries, head)


async def find_audit(
    cx: CertContext, where: AuditFilter, limit: int, offset: int
) -> list[chain.Entry]:
    async with cx.lrs.store.read() as tx:
        return await cert_queries(tx).audit.find_entries(where, limit, offset)


# --- keys ------------------------------------------------------------------------------------


async def _active_key(q: CertQueries) -> signing.SigningKey | None:
    for row in reversed(await q.keys.find_keys()):
        if row["retired_ms"] is None:
            return signing.SigningKey(
                row["kid"], row["private_pem"], orjson.loads(row["public_jwk"])
            )
    return None


async def _new_key(q: CertQueries, actor: str, action: str) -> signing.SigningKey:
    key = signing.new_signing_key()
    at = now_ms()
    await q.keys.retire_keys(at)
    await q.keys.save_key(key.kid, key.private_pem, orjson.dumps(key.public_jwk).decode(), at)
    await record(q, actor, action, subject=key.kid)
    return key


async def ensure_signing_key(cx: CertContext) -> str:
    """The active key's id, made on first start (once, even with several processes)."""
    async with cx.lrs.store.write() as tx:
        q = cert_queries(tx)
        await q.audit.lock_head()  # serialises first starts
        key = await _active_key(q) or await _new_key(q, SYSTEM_ACTOR, "key.created")
        return key.kid


async def rotate_keys(cx: CertContext, actor: str) -> str:
    """A new signing key; the old ones stay published so the certificates they signed verify."""
    async with cx.lrs.store.write() as tx:
        q = cert_queries(tx)
        await q.audit.lock_head()
        return (await _new_key(q, actor, "key.rotated")).kid


async def find_public_keys(cx: CertContext) -> list[dict[str, Any]]:
    async with cx.lrs.store.read() as tx:
        return [orjson.loads(row["public_jwk"]) for row in await cert_queries(tx).keys.find_keys()]


async def signing_key(q: CertQueries) -> signing.SigningKey:
    key = await _active_key(q)
    if key is None:
        raise Conflict("the LRS has no signing key yet; start it once or run `lrs keys rotate`")
    return key


# --- the outbox of xAPI statements ------------------------------------------------------------


async def flush_outbox(cx: CertContext) -> int:
    """Store the statements decided so far through the LRS; return how many."""
    sent = 0
    while True:
        async with cx.lrs.store.read() as tx:
            waiting = await cert_queries(tx).outbox.find_waiting(OUTBOX_BATCH)
        if not waiting:
            return sent
        await save_statements(cx.lrs, waiting, cx.writer(), "2.0.0")
        async with cx.lrs.store.write() as tx:
            await cert_queries(tx).outbox.delete([s["id"] for s in waiting])
        sent += len(waiting)


def certificate_json(certificate: StoredCertificate) -> dict[str, Any]:
    document = {name: getattr(certificate, name) for name in certificate.__dataclass_fields__}
    document["agent"] = orjson.loads(certificate.agent)
    document["evidence"] = certificate.evidence_ids
    return document


def _title(catalog: Catalog, code: str) -> dict[str, str]:
    course = catalog.courses.get(code)
    return dict(course.title) if course else {"en": code, "fr": code}


async def sign_and_record_issue(
    q: CertQueries, cx: CertContext, certificate: StoredCertificate, issued_by: str, at: int
) -> str:
    """Sign the certificate, and queue its `earned` statement; return the token."""
    catalog = await cx.courses.cache.current(q.courses)
    claims: dict[str, Any] = {
        "jti": certificate.id,
        "sub": certificate.learner_id,
        "name": certificate.learner_name,
        "course": certificate.course,
        "course_title": _title(catalog, certificate.course),
        "course_version": certificate.course_version,
        "iat": at // 1000,
        "valid_from": certificate.valid_from_ms // 1000,
        "issued_by": issued_by,
    }
    if certificate.expires_ms is not None:
        claims["exp"] = certificate.expires_ms // 1000
    token = signing.sign_certificate(await signing_key(q), claims)
    document = {**certificate_json(certificate), "issued_by": issued_by}
    statement = statements.earned_statement(
        cx.base_iri, document, _title(catalog, certificate.course), at
    )
    await q.outbox.add([statement], at)
    return token


# --- administrators' decisions ------------------------------------------------------------------


async def _lock_certificate(q: CertQueries, certificate_id: str) -> StoredCertificate:
    await q.state.add_state_once(FOLLOW_CHECKPOINT, "0")
    await q.state.get_state(FOLLOW_CHECKPOINT, for_update=True)  # one decision-maker at a time
    certificate = await q.certificates.get(certificate_id)
    if certificate is None:
        raise NotFound(f"no certificate {certificate_id!r}")
    return certificate


async def approve_certificate(
    cx: CertContext, certificate_id: str, admin: str
) -> StoredCertificate:
    """Sign off a certificate waiting for approval, or keep one flagged for review."""
    async with cx.lrs.store.write() as tx:
        q = cert_queries(tx)
        certificate = await _lock_certificate(q, certificate_id)
        if certificate.status not in (rules.PENDING, rules.REVIEW):
            raise Conflict(
                f"certificate {certificate_id} is {certificate.status}: nothing to approve"
            )
        at, issued_by = now_ms(), f"admin:{admin}"
        token = await sign_and_record_issue(q, cx, certificate, issued_by, at)
        values = {"status": rules.ISSUED, "issued_ms": at, "issued_by": issued_by, "token": token}
        await q.certificates.update(certificate_id, **values, reason=None)
        await record(
            q,
            admin,
            "certificate.approved",
            learner=certificate.learner_id,
            course=certificate.course,
            subject=certificate_id,
            detail={"was": certificate.status, "reason": certificate.reason},
        )
        updated = await q.certificates.get(certificate_id)
    await flush_outbox(cx)
    assert updated is not None
    return updated


def check_reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("reason: required, the reason for the revocation")
    if len(reason) > MAX_REASON:
        raise BadRequest(f"reason: at most {MAX_REASON} characters")
    return reason.strip()


async def revoke_certificate(
    cx: CertContext, certificate_id: str, admin: str, reason: str
) -> StoredCertificate:
    reason = check_reason(reason)
    async with cx.lrs.store.write() as tx:
        q = cert_queries(tx)
        certificate = await _lock_certificate(q, certificate_id)
        if certificate.status == rules.REVOKED:
            raise Conflict(f"certificate {certificate_id} is already revoked")
        rows = await q.courses.progress.find_progress_of_learners([certificate.learner_id])
        last = max((r.last_ms for r in rows if r.course == certificate.course), default=None)
        at = now_ms()
        values = {
            "status": rules.REVOKED,
            "revoked_ms": at,
            "revoked_by": f"admin:{admin}",
            "reason": reason,
            "requalify_after_ms": last,
        }
        await q.certificates.update(certificate_id, **values)
        catalog = await cx.courses.cache.current(q.courses)
        document = {**certificate_json(certificate), **values}
        statement = statements.revoked_statement(
            cx.base_iri, document, _title(catalog, certificate.course), at
        )
        await q.outbox.add([statement], at)
        await record(
            q,
            admin,
            "certificate.revoked",
            learner=certificate.learner_id,
            course=certificate.course,
            subject=certificate_id,
            detail={"reason": reason, "was": certificate.status},
        )
        updated = await q.certificates.get(certificate_id)
    await flush_outbox(cx)
    assert updated is not None
    return updated


# --- reading and verifying ----------------------------------------------------------------------


async def get_certificate(cx: CertContext, certificate_id: str) -> StoredCertificate:
    async with cx.lrs.store.read() as tx:
        certificate = await cert_queries(tx).certificates.get(certificate_id)
    if certificate is None:
        raise NotFound(f"no certificate {certificate_id!r}")
    return certificate


async def find_certificates(
    cx: CertContext, where: CertificateFilter, limit: int, offset: int
) -> list[StoredCertificate]:
    async with cx.lrs.store.read() as tx:
        return await cert_queries(tx).certificates.find(where, limit, offset)


@dataclass(frozen=True)
class Verdict:
    status: str  # valid, revoked, expired, forged, pending, review
    message: str
    certificate: StoredCertificate | None = None


async def verify_token(cx: CertContext, token: str) -> Verdict:
    keys = {jwk["kid"]: jwk for jwk in await find_public_keys(cx)}
    try:
        claims = signing.read_token(token, keys)
    except signing.Forged as error:
        return Verdict("forged", f"not a certificate of this LRS: {error}")
    async with cx.lrs.store.read() as tx:
        certificate = await cert_queries(tx).certificates.get(str(claims["jti"]))
    if certificate is None:
        return Verdict("forged", "signed by this LRS but names no certificate it issued")
    return verdict_of(certificate, claims.get("exp"))


def verdict_of(certificate: StoredCertificate, token_exp: Any = None) -> Verdict:
    status = rules.display_status(certificate.status, certificate.expires_ms, now_ms())
    if status == rules.ISSUED and isinstance(token_exp, int) and token_exp * 1000 <= now_ms():
        status = rules.EXPIRED
    messages = {
        rules.ISSUED: "valid: the certificate was issued and has not been revoked",
        rules.EXPIRED: "expired: the certificate's validity has ended",
        rules.REVOKED: f"revoked: {certificate.reason}",
        rules.REVIEW: f"under review: {certificate.reason}",
        rules.PENDING: "not yet issued: waiting for an administrator's sign-off",
    }
    shown = "valid" if status == rules.ISSUED else status
    return Verdict(shown, messages[status], certificate)


async def verify_certificate(cx: CertContext, certificate_id: str) -> Verdict:
    certificate = await get_certificate(cx, certificate_id)
    if certificate.token is None:
        return verdict_of(certificate)
    verdict = await verify_token(cx, certificate.token)
    return verdict if verdict.status == "forged" else verdict_of(certificate)


async def get_catalog(cx: CertContext) -> Catalog:
    async with cx.lrs.store.read() as tx:
        return await cx.courses.cache.current(cert_queries(tx).courses)
