"""Storage rows of the courses plugin (SQLModel, on the LRS's metadata so its schema creates them).

Identities and progress are derived from the stored statements and can be rebuilt (`lrs
progress rebuild`); the statements themselves are the evidence, so no copy of them is kept.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel


class CatalogCourseRow(SQLModel, table=True):
    """One course of the loaded catalogue, as its normalised JSON document."""

    __tablename__ = "courses_catalog"

    code: str = Field(primary_key=True)
    position: int = Field(sa_column=Column(Integer, nullable=False))
    version: str
    document: str = Field(sa_column=Column(Text, nullable=False))
    loaded_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class StateRow(SQLModel, table=True):
    """Named values: the aggregator's checkpoint, the catalogue version and sites, the JWT key."""

    __tablename__ = "courses_state"

    name: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class IdentityRow(SQLModel, table=True):
    """An agent identifier (lrs.xapi.index.agent_key) and the learner it belongs to."""

    __tablename__ = "courses_identity"
    __table_args__ = (
        Index("ix_courses_identity_learner", "learner_id"),
        Index("ix_courses_identity_email", "email_sha1"),
    )

    agent_key: str = Field(primary_key=True)
    learner_id: str = Field(sa_column=Column(Text, nullable=False))
    email_sha1: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    agent: str = Field(sa_column=Column(Text, nullable=False))


class LinkRow(SQLModel, table=True):
    """An administrator's statement that two agent identifiers are one person (key_a < key_b)."""

    __tablename__ = "courses_link"
    __table_args__ = (PrimaryKeyConstraint("key_a", "key_b"), Index("ix_courses_link_b", "key_b"))

    key_a: str = Field(sa_column=Column(Text, nullable=False))
    key_b: str = Field(sa_column=Column(Text, nullable=False))
    agent_a: str = Field(sa_column=Column(Text, nullable=False))
    agent_b: str = Field(sa_column=Column(Text, nullable=False))


class DetachedRow(SQLModel, table=True):
    """An agent identifier an administrator unlinked: never joined to others by email."""

    __tablename__ = "courses_detached"

    agent_key: str = Field(primary_key=True)


class ProgressRow(SQLModel, table=True):
    """One learner's progress in one course (courses.rules.Progress)."""

    __tablename__ = "courses_progress"
    __table_args__ = (
        PrimaryKeyConstraint("course", "learner_id"),
        Index("ix_courses_progress_learner", "learner_id"),
        # Covers the progress report: a course's figures come from this index alone, never
        # from the wider rows (summaries), so a course of 30,000 officials reads quickly.
        Index(
            "ix_courses_progress_report",
            "course",
            "country",
            "cohort",
            "status",
            "best_score",
            "first_ms",
            "last_ms",
            "started_mask",
            "done_mask",
        ),
    )

    course: str = Field(sa_column=Column(Text, nullable=False))
    learner_id: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    best_score: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    attendance_days: int = Field(sa_column=Column(Integer, nullable=False))
    first_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    completed_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    certificate_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    expires_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    country: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cohort: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_mask: int = Field(sa_column=Column(BigInteger, nullable=False))
    done_mask: int = Field(sa_column=Column(BigInteger, nullable=False))
    detail: str = Field(sa_column=Column(Text, nullable=False))  # units, evidence, missing (JSON)


class UserRow(SQLModel, table=True):
    """A person who may call /api/v1, with a role; the password is stored as a salted hash."""

    __tablename__ = "courses_user"

    name: str = Field(primary_key=True)
    role: str
    password_hash: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
