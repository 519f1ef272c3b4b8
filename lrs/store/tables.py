"""Storage rows (SQLModel tables), seen only by the store; xAPI JSON is kept whole in `body`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel


class StatementRow(SQLModel, table=True):
    """One stored statement. `seq` orders statements by the time they were stored."""

    __tablename__ = "statement"

    # SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a BIGSERIAL.
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    # Indexed for the since/until filters (migration 0002).
    stored_ms: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    voided: bool = Field(default=False, nullable=False)
    body: str = Field(sa_column=Column(Text, nullable=False))


class StatementIndexRow(SQLModel, table=True):
    """A (kind, value) a statement can be found by: agent, verb, activity, registration, ...

    Statements that target another statement by StatementRef also carry the target's rows
    (xAPI 1.0.3 Communication 2.1.3, filter conditions for StatementRefs).
    """

    __tablename__ = "statement_index"
    __table_args__ = (
        PrimaryKeyConstraint("kind", "value", "seq"),
        {"sqlite_with_rowid": False},
    )

    kind: str = Field(sa_column=Column(Text, nullable=False))
    value: str = Field(sa_column=Column(Text, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class AttachmentRow(SQLModel, table=True):
    """Attachment content, shared by every statement that names its sha2."""

    __tablename__ = "attachment"

    sha2: str = Field(primary_key=True)
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ActivityRow(SQLModel, table=True):
    """The canonical definition of an activity, merged from the statements that define it."""

    __tablename__ = "activity"

    id: str = Field(primary_key=True)
    definition: str = Field(sa_column=Column(Text, nullable=False))


class DocumentRow(SQLModel, table=True):
    """A State, Activity Profile or Agent Profile document, stored byte for byte."""

    __tablename__ = "document"
    __table_args__ = (
        PrimaryKeyConstraint("kind", "activity_id", "agent_key", "registration", "doc_id"),
    )

    kind: str = Field(sa_column=Column(Text, nullable=False))
    activity_id: str = Field(sa_column=Column(Text, nullable=False, default=""))
    agent_key: str = Field(sa_column=Column(Text, nullable=False, default=""))
    registration: str = Field(sa_column=Column(Text, nullable=False, default=""))
    doc_id: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    etag: str
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class CredentialRow(SQLModel, table=True):
    """An API key pair; the secret is stored as a salted hash only."""

    __tablename__ = "credential"

    key: str = Field(primary_key=True)
    name: str
    secret_hash: str
    scopes: str
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    revoked: bool = Field(default=False, nullable=False)
