"""Storage rows of the certificates plugin (SQLModel, on the LRS's metadata: its schema makes them).

Certificates and the audit log are records of decisions, not derived data: `lrs progress
rebuild` never touches them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel


class CertificateRow(SQLModel, table=True):
    """One certificate: who, which course (and version), on what evidence, and its status."""

    __tablename__ = "cert_certificate"
    __table_args__ = (
        Index("ix_cert_certificate_learner", "learner_id", "course"),
        Index("ix_cert_certificate_agent", "agent_key"),
        Index("ix_cert_certificate_course", "course", "status"),
    )

    id: str = Field(primary_key=True)
    learner_id: str = Field(sa_column=Column(Text, nullable=False))
    agent_key: str = Field(sa_column=Column(Text, nullable=False))  # the learner's smallest key
    agent: str = Field(sa_column=Column(Text, nullable=False))  # xAPI Agent JSON
    learner_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    course: str = Field(sa_column=Column(Text, nullable=False))
    course_version: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    valid_from_ms: int = Field(sa_column=Column(BigInteger, nullable=False))  # course finished
    expires_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    issued_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    issued_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revoked_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The learner's last course activity when revoked: newer activity that still meets the
    # rule is what "qualifies again" means.
    requalify_after_ms: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of statement ids
    token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class EvidenceRow(SQLModel, table=True):
    """A statement a certificate rests on: voiding it flags the certificate for review."""

    __tablename__ = "cert_evidence"
    __table_args__ = (
        PrimaryKeyConstraint("certificate_id", "statement_id"),
        Index("ix_cert_evidence_statement", "statement_id"),
    )

    certificate_id: str = Field(sa_column=Column(Text, nullable=False))
    statement_id: str = Field(sa_column=Column(Text, nullable=False))


class SigningKeyRow(SQLModel, table=True):
    """An Ed25519 key of the LRS; retired keys stay published so old certificates verify."""

    __tablename__ = "cert_signing_key"

    kid: str = Field(primary_key=True)
    private_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    retired_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class AuditRow(SQLModel, table=True):
    """One audit entry; `hash` covers the entry and the previous entry's hash (a chain)."""

    __tablename__ = "cert_audit"
    __table_args__ = (
        Index("ix_cert_audit_at", "at_ms"),
        Index("ix_cert_audit_action", "action"),
    )

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    at_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    learner: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    course: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    subject: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    detail: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON object
    prev_hash: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(Text, nullable=False))


class CertStateRow(SQLModel, table=True):
    """Named values: the follower's checkpoint, the audit chain's head, acts already seen."""

    __tablename__ = "cert_state"

    name: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class OutboxRow(SQLModel, table=True):
    """An xAPI statement decided in a transaction, stored through the LRS once it commits."""

    __tablename__ = "cert_outbox"

    statement_id: str = Field(primary_key=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
