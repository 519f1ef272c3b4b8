"""All SQL of the certificates plugin, per transaction: certificates, keys, audit, state, outbox.

It reads two courses tables the courses store has no query for (users, and which learners
hold a course certificate); it never writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from certificates import tables
from certificates.chain import GENESIS, Entry
from courses import tables as course_tables
from courses._chunks import distinct_chunks
from courses.store import CourseQueries, StateQueries, course_queries
from lrs.store import dialects
from lrs.store.sql import Transaction

cert_t = tables.CertificateRow.__table__  # type: ignore[attr-defined]
evidence_t = tables.EvidenceRow.__table__  # type: ignore[attr-defined]
key_t = tables.SigningKeyRow.__table__  # type: ignore[attr-defined]
audit_t = tables.AuditRow.__table__  # type: ignore[attr-defined]
state_t = tables.CertStateRow.__table__  # type: ignore[attr-defined]
outbox_t = tables.OutboxRow.__table__  # type: ignore[attr-defined]
user_t = course_tables.UserRow.__table__  # type: ignore[attr-defined]
progress_t = course_tables.ProgressRow.__table__  # type: ignore[attr-defined]
AUDIT_HEAD = "audit_head"


@dataclass(frozen=True)
class StoredCertificate:
    id: str
    learner_id: str
    agent_key: str
    agent: str
    learner_name: str | None
    course: str
    course_version: str
    status: str
    valid_from_ms: int
    expires_ms: int | None
    created_ms: int
    issued_ms: int | None
    issued_by: str | None
    revoked_ms: int | None
    revoked_by: str | None
    reason: str | None
    requalify_after_ms: int | None
    evidence: str
    token: str | None

    @property
    def evidence_ids(self) -> list[str]:
        ids: list[str] = orjson.loads(self.evidence)
        return ids


CERT_FIELDS = [f.name for f in fields(StoredCertificate)]


def _certificate(row: Any) -> StoredCertificate:
    return StoredCertificate(**{name: row._mapping[name] for name in CERT_FIELDS})


@dataclass(frozen=True)
class CertificateFilter:
    course: str | None = None
    status: str | None = None  # a stored status, or "expired"
    expiring_before_ms: int | None = None
    now_ms: int = 0
    learner_id: str | None = None


class CertificateQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, certificate_id: str) -> StoredCertificate | None:
        row = (await self.conn.execute(select(cert_t).where(cert_t.c.id == certificate_id))).first()
        return _certificate(row) if row is not None else None

    async def find_of_learner(
        self, learner_id: str, agent_keys: Iterable[str]
    ) -> list[StoredCertificate]:
        """The learner's certificates, also those issued under an identity since merged into it."""
        keys = sorted(set(agent_keys))
        condition = or_(cert_t.c.learner_id == learner_id, cert_t.c.agent_key.in_(keys))
        stmt = select(cert_t).where(condition).order_by(cert_t.c.created_ms, cert_t.c.id)
        return [_certificate(row) for row in await self.conn.execute(stmt)]

    async def find_by_evidence(self, statement_ids: Sequence[str]) -> list[StoredCertificate]:
        found: dict[str, StoredCertificate] = {}
        for part in distinct_chunks(statement_ids):
            stmt = select(cert_t).join(evidence_t, evidence_t.c.certificate_id == cert_t.c.id)
            for row in await self.conn.execute(stmt.where(evidence_t.c.statement_id.in_(part))):
                found[row._mapping["id"]] = _certificate(row)
        return list(found.values())

    async def find_learner_ids(self) -> set[str]:
        return {lid for (lid,) in await self.conn.execute(select(cert_t.c.learner_id).distinct())}

    async def save(self, certificate: StoredCertificate) -> None:
        values = {name: getattr(certificate, name) for name in CERT_FIELDS}
        await self.conn.execute(cert_t.insert().values(**values))
        rows = [
            {"certificate_id": certificate.id, "statement_id": s} for s in certificate.evidence_ids
        ]
        if rows:
            await self.conn.execute(evidence_t.insert(), rows)

    async def update(self, certificate_id: str, **values: Any) -> None:
        await self.conn.execute(
            update(cert_t).where(cert_t.c.id == certificate_id).values(**values)
        )

    async def find(
        self, where: CertificateFilter, limit: int, offset: int
    ) -> list[StoredCertificate]:
        conditions: list[ColumnElement[bool]] = []
        if where.course:
            conditions.append(cert_t.c.course == where.course)
        if where.learner_id:
            conditions.append(cert_t.c.learner_id == where.learner_id)
        not_expired = or_(cert_t.c.expires_ms.is_(None), cert_t.c.expires_ms > where.now_ms)
        if where.status == "expired":
            conditions += [cert_t.c.status == "issued", cert_t.c.expires_ms <= where.now_ms]
        elif where.status == "issued":
            conditions += [cert_t.c.status == "issued", not_expired]
        elif where.status:
            conditions.append(cert_t.c.status == where.status)
        if where.expiring_before_ms is not None:
            conditions += [
                cert_t.c.status == "issued",
                cert_t.c.expires_ms > where.now_ms,
                cert_t.c.expires_ms <= where.expiring_before_ms,
            ]
        stmt = select(cert_t).where(and_(*conditions)) if conditions else select(cert_t)
        stmt = stmt.order_by(cert_t.c.created_ms, cert_t.c.id).limit(limit).offset(offset)
        return [_certificate(row) for row in await self.conn.execute(stmt)]


class KeyQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find_keys(self) -> list[dict[str, Any]]:
        stmt = select(key_t).order_by(key_t.c.created_ms, key_t.c.kid)
        return [dict(row._mapping) for row in await self.conn.execute(stmt)]

    async def save_key(self, kid: str, private_pem: str, public_jwk: str, created_ms: int) -> None:
        await self.conn.execute(
            key_t.insert().values(
                kid=kid, private_pem=private_pem, public_jwk=public_jwk, created_ms=created_ms
            )
        )

    async def retire_keys(self, retired_ms: int) -> None:
        stmt = update(key_t).where(key_t.c.retired_ms.is_(None)).values(retired_ms=retired_ms)
        await self.conn.execute(stmt)


def _entry(row: Any) -> Entry:
    m = row._mapping
    return Entry(**{name: m[name] for name in (f.name for f in fields(Entry))})


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    learner: str | None = None
    course: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


class AuditQueries:
    def __init__(self, conn: AsyncConnection, state: StateQueries) -> None:
        self.conn = conn
        self.state = state

    async def lock_head(self) -> tuple[int, str]:
        """The chain's head (last seq, last hash), locked until the transaction ends."""
        await self.state.add_state_once(AUDIT_HEAD, orjson.dumps([0, GENESIS]).decode())
        seq, digest = orjson.loads(await self.state.get_state(AUDIT_HEAD, for_update=True) or "")
        return int(seq), str(digest)

    async def get_head(self) -> tuple[int, str]:
        raw = await self.state.get_state(AUDIT_HEAD)
        if raw is None:
            return 0, GENESIS
        seq, digest = orjson.loads(raw)
        return int(seq), str(digest)

    async def append(self, entry: Entry) -> None:
        values = {f.name: getattr(entry, f.name) for f in fields(Entry)}
        await self.conn.execute(audit_t.insert().values(**values))
        await self.state.save_state(AUDIT_HEAD, orjson.dumps([entry.seq, entry.hash]).decode())

    async def find_entries(self, where: AuditFilter, limit: int, offset: int) -> list[Entry]:
        c = audit_t.c
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (c.actor, where.actor),
            (c.action, where.action),
            (c.learner, where.learner),
            (c.course, where.course),
        ):
            if value is not None:
                conditions.append(column == value)
        if where.since_ms is not None:
            conditions.append(c.at_ms >= where.since_ms)
        if where.until_ms is not None:
            conditions.append(c.at_ms <= where.until_ms)
        stmt = select(audit_t).where(and_(*conditions)) if conditions else select(audit_t)
        rows = await self.conn.execute(stmt.order_by(c.seq).limit(limit).offset(offset))
        return [_entry(row) for row in rows]

    async def find_all_entries(self, after_seq: int, limit: int) -> list[Entry]:
        stmt = select(audit_t).where(audit_t.c.seq > after_seq).order_by(audit_t.c.seq)
        return [_entry(row) for row in await self.conn.execute(stmt.limit(limit))]


class OutboxQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine

    async def add(self, statements: list[dict[str, Any]], created_ms: int) -> None:
        if statements:
            rows = [
                {
                    "statement_id": s["id"],
                    "body": orjson.dumps(s).decode(),
                    "created_ms": created_ms,
                }
                for s in statements
            ]
            await self.conn.execute(
                dialects.insert_ignoring_duplicates(self.engine, outbox_t), rows
            )

    async def find_waiting(self, limit: int) -> list[dict[str, Any]]:
        stmt = select(outbox_t.c.body).order_by(outbox_t.c.created_ms, outbox_t.c.statement_id)
        return [orjson.loads(body) for (body,) in await self.conn.execute(stmt.limit(limit))]

    async def delete(self, statement_ids: list[str]) -> None:
        await self.conn.execute(delete(outbox_t).where(outbox_t.c.statement_id.in_(statement_ids)))


class PeekQueries:
    """Read-only looks at courses tables its store offers no query for."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find_users(self) -> dict[str, str]:
        rows = await self.conn.execute(select(user_t.c.name, user_t.c.role))
        return {name: role for name, role in rows}

    async def find_certified_learners(self) -> set[str]:
        stmt = select(progress_t.c.learner_id).where(progress_t.c.certificate_ms.is_not(None))
        return {lid for (lid,) in await self.conn.execute(stmt.distinct())}

    async def count_rows(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(cert_t))).scalar_one())


@dataclass
class CertQueries:
    certificates: CertificateQueries
    keys: KeyQueries
    audit: AuditQueries
    state: StateQueries
    outbox: OutboxQueries
    peek: PeekQueries
    courses: CourseQueries
    lrs: Transaction


def cert_queries(tx: Transaction) -> CertQueries:
    engine = tx.statements.engine
    state = StateQueries(tx.conn, engine, state_t)
    return CertQueries(
        certificates=CertificateQueries(tx.conn),
        keys=KeyQueries(tx.conn),
        audit=AuditQueries(tx.conn, state),
        state=state,
        outbox=OutboxQueries(tx.conn, engine),
        peek=PeekQueries(tx.conn),
        courses=course_queries(tx),
        lrs=tx,
    )
