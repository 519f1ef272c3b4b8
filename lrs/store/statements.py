"""Statement, index, attachment and activity-definition queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, func, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lrs.store import dialects
from lrs.store.chunking import chunks
from lrs.store.pg_copy import (
    INDEX_COLUMNS,
    STATEMENT_COLUMNS,
    index_row_heads,
    index_rows_payload,
    statement_rows_payload,
)
from lrs.store.tables import ActivityRow, AttachmentRow, StatementIndexRow, StatementRow
from lrs.xapi.index import TARGETS, VOIDS, IndexKey
from lrs.xapi.query import Filter, StatementQuery

statement_t = StatementRow.__table__  # type: ignore[attr-defined]
index_t = StatementIndexRow.__table__  # type: ignore[attr-defined]
attachment_t = AttachmentRow.__table__  # type: ignore[attr-defined]
activity_t = ActivityRow.__table__  # type: ignore[attr-defined]

# Keep IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


class StatementIdTaken(Exception):
    """The unique index refused one of these ids: another transaction stored it after ours
    looked.

    Statements' writers take turns (SqlStore.write), so it is not expected; the group commit
    still answers it by storing each batch again on its own rather than failing them all.
    """


class NewStatement(NamedTuple):
    """A statement to insert. On PostgreSQL, `index_heads`, when given, are its index rows
    already encoded (pg_copy.index_row_heads of exactly its keys; `keys` may then be left
    empty). A NamedTuple, as StoredStatement: one is made per statement, and a frozen
    dataclass takes four times as long to make."""

    id: str
    stored_ms: int
    voided: bool
    body: bytes  # the statement as stored and served: JSON, UTF-8
    keys: frozenset[IndexKey]
    index_heads: Sequence[bytes] | None = None


class StoredStatement(NamedTuple):
    seq: int
    id: str
    stored_ms: int
    voided: bool
    body: str


def _stored(row: Any) -> StoredStatement:
    """A row of `select(statement_t)`: its columns in the table's order (unpacked by position,
    several times faster than by name for the feed's thousands of rows)."""
    seq, statement_id, stored_ms, voided, body = row
    return StoredStatement(seq, statement_id, stored_ms, bool(voided), body)


class StatementQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine

    # --- reads -----------------------------------------------------------------------------

    async def get_statements_by_id(self, ids: list[str]) -> dict[str, StoredStatement]:
        found: dict[str, StoredStatement] = {}
        for chunk in chunks(ids, CHUNK):
            rows = await self.conn.execute(select(statement_t).where(statement_t.c.id.in_(chunk)))
            for row in rows:
                stored = _stored(row)
                found[stored.id] = stored
        return found

    async def get_statement(self, statement_id: str) -> StoredStatement | None:
        row = (
            await self.conn.execute(select(statement_t).where(statement_t.c.id == statement_id))
        ).first()
        return _stored(row) if row is not None else None

    async def has_index_key(self, seq: int, key: IndexKey) -> bool:
        row = await self.conn.execute(
            select(index_t.c.seq).where(
                index_t.c.kind == key[0], index_t.c.value == key[1], index_t.c.seq == seq
            )
        )
        return row.first() is not None

    async def find_voided_targets(self, ids: list[str]) -> set[str]:
        """Which of these ids a stored voiding statement already names (it arrived first)."""
        found: set[str] = set()
        for chunk in chunks(ids, CHUNK):
            rows = await self.conn.execute(
                select(index_t.c.value).where(index_t.c.kind == VOIDS, index_t.c.value.in_(chunk))
            )
            found.update(value for (value,) in rows)
        return found

    async def find_statements(
        self,
        query: StatementQuery,
        after_seq: int | None,
        limit: int,
        extra: tuple[Filter, ...] = (),
    ) -> list[StoredStatement]:
        """One page of non-voided statements matching every filter, in `seq` order."""
        stmt = _select_page(query, after_seq, extra, limit)
        return [_stored(row) for row in await self.conn.execute(stmt)]

    async def find_statements_after(self, after_seq: int, limit: int) -> list[StoredStatement]:
        """Statements in storage order, voided ones included (the statement feed)."""
        stmt = (
            select(statement_t)
            .where(statement_t.c.seq > after_seq)
            .order_by(statement_t.c.seq)
            .limit(limit)
        )
        return [_stored(row) for row in await self.conn.execute(stmt)]

    async def last_seq(self) -> int:
        """The storage number of the newest statement (0 for none)."""
        return int(await self.conn.scalar(select(func.max(statement_t.c.seq))) or 0)

    async def get_attachments(self, sha2s: list[str]) -> dict[str, tuple[str, bytes]]:
        found: dict[str, tuple[str, bytes]] = {}
        for chunk in chunks(sha2s, CHUNK):
            rows = await self.conn.execute(
                select(attachment_t).where(attachment_t.c.sha2.in_(chunk))
            )
            for sha2, content_type, content in rows:
                found[sha2] = (content_type, content)
        return found

    async def get_activity_definitions(self, activity_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(activity_ids, CHUNK):
            rows = await self.conn.execute(select(activity_t).where(activity_t.c.id.in_(chunk)))
            found.update({activity_id: definition for activity_id, definition in rows})
        return found

    async def save_statements(self, statements: list[NewStatement]) -> dict[str, int]:
        """Insert statements and their index rows (the caller's transaction keeps it atomic);
        return each one's `seq`."""
        if not statements:
            return {}
        if dialects.is_sqlite(self.engine):
            return await self._save_sqlite(statements)
        return await self._save_postgres(statements)

    async def _save_sqlite(self, statements: list[NewStatement]) -> dict[str, int]:
        rows = [
            {"id": s.id, "stored_ms": s.stored_ms, "voided": s.voided, "body": s.body.decode()}
            for s in statements
        ]
        # RETURNING the id with the seq lets SQLAlchemy send one multi-row INSERT; asking it
        # to keep parameter order would make SQLite insert row by row.
        try:
            inserted = await self.conn.execute(
                statement_t.insert().returning(statement_t.c.seq, statement_t.c.id), rows
            )
        except IntegrityError as error:
            raise StatementIdTaken(str(error.orig)) from error
        seq_of = {statement_id: seq for seq, statement_id in inserted}
        index_rows = [
            (kind, value, seq_of[statement.id])
            for statement in statements
            for kind, value in statement.keys
        ]
        # About ten rows a statement: plain tuples straight to the driver.
        await dialects.insert_tuples(self.conn, index_t, list(INDEX_COLUMNS), index_rows)
        return seq_of

    async def _save_postgres(self, statements: list[NewStatement]) -> dict[str, int]:
        """Both tables by binary COPY, which costs the server and the driver less than any
        INSERT; each statement's `seq` taken first, in order (the write holds its turn)."""
        seqs = await dialects.take_serial_values(self.conn, statement_t.c.seq, len(statements))
        statement_rows = statement_rows_payload(
            (s.id, s.body, seq, s.stored_ms, s.voided)
            for s, seq in zip(statements, seqs, strict=True)
        )
        try:
            await dialects.copy_binary(self.conn, statement_t, STATEMENT_COLUMNS, statement_rows)
        except IntegrityError as error:
            raise StatementIdTaken(str(error.orig)) from error
        index_rows = index_rows_payload(
            (
                seq,
                statement.index_heads
                if statement.index_heads is not None
                else index_row_heads(statement.keys),
            )
            for statement, seq in zip(statements, seqs, strict=True)
        )
        await dialects.copy_binary(self.conn, index_t, INDEX_COLUMNS, index_rows)
        return {statement.id: seq for statement, seq in zip(statements, seqs, strict=True)}

    async def find_referrers(self, target_ids: list[str]) -> list[tuple[str, int, str]]:
        """(target id, seq, id) of the stored statements whose StatementRef names a target."""
        i, s = index_t, statement_t
        found: list[tuple[str, int, str]] = []
        for chunk in chunks(target_ids, CHUNK):
            rows = await self.conn.execute(
                select(i.c.value, s.c.seq, s.c.id)
                .join(s, s.c.seq == i.c.seq)
                .where(i.c.kind == TARGETS, i.c.value.in_(chunk))
            )
            found += [(target, seq, statement_id) for target, seq, statement_id in rows]
        return found

    async def add_index_keys(self, rows: list[tuple[str, str, int]]) -> None:
        """(kind, value, seq) rows for stored statements; those already there are kept."""
        if rows:
            await self.conn.execute(
                dialects.insert_ignoring_duplicates(self.engine, index_t),
                [{"kind": kind, "value": value, "seq": seq} for kind, value, seq in set(rows)],
            )

    async def void_statements(self, ids: list[str]) -> None:
        for chunk in chunks(ids, CHUNK):
            await self.conn.execute(
                update(statement_t).where(statement_t.c.id.in_(chunk)).values(voided=True)
            )

    async def save_attachments(self, attachments: list[tuple[str, str, bytes]]) -> None:
        """(sha2, content type, content) rows; content already stored under a hash is kept."""
        if attachments:
            rows = [{"sha2": h, "content_type": t, "content": c} for h, t, c in attachments]
            await self.conn.execute(
                dialects.insert_ignoring_duplicates(self.engine, attachment_t), rows
            )

    async def save_activity_definitions(self, definitions: dict[str, str]) -> None:
        if definitions:
            stmt = dialects.upsert(self.engine, activity_t, ["id"], ["definition"])
            await self.conn.execute(
                stmt, [{"id": k, "definition": v} for k, v in definitions.items()]
            )


def _kind_matches(column: Any, kinds: tuple[str, ...]) -> Any:
    return column == kinds[0] if len(kinds) == 1 else column.in_(kinds)


def _select_page(
    query: StatementQuery, after_seq: int | None, extra: tuple[Filter, ...], limit: int
) -> Select[tuple[object, ...]]:
    """One page of statements, in `seq` order, matching every filter."""
    # A filter of one kind is one ordered index range: let it drive the page when there is one.
    filters = sorted((*query.filters, *extra), key=lambda f: len(f[0]))
    if not filters or len(filters[0][0]) == 1:
        return _select_driven(query, after_seq, filters, select_seq_only=False).limit(limit)
    # related_*: one ordered range per kind, each cut to the page, then merged. A single
    # `kind IN (...)` range would make the database sort every match before the limit.
    kinds, value = filters[0]
    branches = [
        _select_driven(query, after_seq, [((kind,), value), *filters[1:]], select_seq_only=True)
        .limit(limit)
        .subquery()
        for kind in kinds
    ]
    seqs = union(*(select(branch.c.seq) for branch in branches)).subquery()
    s = statement_t
    stmt = select(s).join(seqs, s.c.seq == seqs.c.seq)
    return stmt.order_by(s.c.seq.asc() if query.ascending else s.c.seq.desc()).limit(limit)


def _select_driven(
    query: StatementQuery,
    after_seq: int | None,
    filters: list[Filter],
    select_seq_only: bool,
) -> Select[tuple[object, ...]]:
    """Drive from the first filter's index rows, joining the others on seq."""
    s = statement_t
    if filters:
        first = index_t.alias("i0")
        order_col = first.c.seq
        from_clause = first.join(s, s.c.seq == first.c.seq)
        conditions = [_kind_matches(first.c.kind, filters[0][0]), first.c.value == filters[0][1]]
        for n, (kinds, value) in enumerate(filters[1:], start=1):
            other = index_t.alias(f"i{n}")
            from_clause = from_clause.join(
                other,
                and_(
                    other.c.seq == first.c.seq,
                    _kind_matches(other.c.kind, kinds),
                    other.c.value == value,
                ),
            )
        columns = [first.c.seq] if select_seq_only else [s]
        stmt = select(*columns).select_from(from_clause).where(*conditions)
    else:
        order_col = s.c.seq
        stmt = select(s.c.seq) if select_seq_only else select(s)
    stmt = stmt.where(s.c.voided.is_(False))
    if query.since_ms is not None:
        stmt = stmt.where(s.c.stored_ms > query.since_ms)
    if query.until_ms is not None:
        stmt = stmt.where(s.c.stored_ms <= query.until_ms)
    if after_seq is not None:
        stmt = stmt.where(order_col > after_seq if query.ascending else order_col < after_seq)
    return stmt.order_by(order_col.asc() if query.ascending else order_col.desc())
