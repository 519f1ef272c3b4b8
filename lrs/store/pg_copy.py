"""PostgreSQL's binary COPY format, for statements and their index rows.

A statement's index rows are (kind, value, seq): all but `seq` are known when a worker
prepares the statement, `seq` only once the write holds its turn. So workers encode each row
up to its `seq` (`index_row_heads`), and the writer, one write after another, only appends
each statement's `seq` (`index_rows_payload`): the turn no longer builds and encodes ten rows
a statement (bench/RESULTS.md, ninth session). Statement rows (`statement_rows_payload`) are
encoded by the writer, in its turn, around bodies already encoded as UTF-8 JSON: against an
INSERT of column arrays, the driver encodes nothing and no RETURNING comes back (tenth
session).

Format: https://www.postgresql.org/docs/current/sql-copy.html (binary format).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

# Signature, flags (no OIDs), no header extension.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_THREE_FIELDS = struct.pack("!h", 3)
_BIGINT_LENGTH = struct.pack("!i", 8)
_LENGTH = struct.Struct("!i")
_BIGINT = struct.Struct("!q")
_FIVE_FIELDS = struct.pack("!h", 5)
# A statement row's last three fields: seq, stored_ms (bigints) and voided (a bool).
_STATEMENT_TAIL = struct.Struct("!iqiqib")

STATEMENT_COLUMNS = ("id", "body", "seq", "stored_ms", "voided")

INDEX_COLUMNS = ("kind", "value", "seq")


def _text(value: str) -> bytes:
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


def index_row_heads(keys: Iterable[tuple[str, str]]) -> list[bytes]:
    """Each (kind, value) key as a binary COPY row of INDEX_COLUMNS, but for its `seq`."""
    return [_THREE_FIELDS + _text(kind) + _text(value) + _BIGINT_LENGTH for kind, value in keys]


def statement_rows_payload(rows: Iterable[tuple[str, bytes, int, int, bool]]) -> bytes:
    """A whole binary COPY of STATEMENT_COLUMNS from (id, body as UTF-8 JSON, seq,
    stored_ms, voided) rows."""
    parts = [_HEADER]
    for statement_id, body, seq, stored_ms, voided in rows:
        parts += (
            _FIVE_FIELDS,
            _text(statement_id),
            _LENGTH.pack(len(body)),
            body,
            _STATEMENT_TAIL.pack(8, seq, 8, stored_ms, 1, voided),
        )
    parts.append(_TRAILER)
    return b"".join(parts)


def index_rows_payload(statements: Iterable[tuple[int, Sequence[bytes]]]) -> bytes:
    """A whole binary COPY of INDEX_COLUMNS from each statement's (seq, row heads)."""
    parts = [_HEADER]
    for seq, heads in statements:
        if heads:
            encoded_seq = _BIGINT.pack(seq)
            parts.append(encoded_seq.join(heads) + encoded_seq)
    parts.append(_TRAILER)
    return b"".join(parts)
