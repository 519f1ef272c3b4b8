"""The audit log's hash chain (pure): each entry's hash covers its fields and the previous hash.

The hash is SHA-256 over a canonical JSON of the entry (sorted keys, no spaces, UTF-8), so
anyone can recompute it from an export. Entries are numbered without gaps from 1, and the
chain's head (last number and hash) is kept apart: an altered, removed or appended-out-of-band
entry breaks the chain at a point `first_break` names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64
HASHED_FIELDS = ("seq", "at_ms", "actor", "action", "learner", "course", "subject", "detail")


@dataclass(frozen=True)
class Entry:
    seq: int
    at_ms: int
    actor: str
    action: str
    learner: str | None
    course: str | None
    subject: str | None
    detail: str  # canonical JSON object
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at_ms,
            "actor": self.actor,
            "action": self.action,
            "learner": self.learner,
            "course": self.course,
            "subject": self.subject,
            "detail": orjson.loads(self.detail),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    body = canonical({**{name: fields[name] for name in HASHED_FIELDS}, "prev_hash": prev_hash})
    return hashlib.sha256(body.encode()).hexdigest()


def next_entry(
    head: tuple[int, str],
    at_ms: int,
    actor: str,
    action: str,
    learner: str | None = None,
    course: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Entry:
    """The entry that follows the chain's head (last seq, last hash)."""
    fields: dict[str, Any] = {
        "seq": head[0] + 1,
        "at_ms": at_ms,
        "actor": actor,
        "action": action,
        "learner": learner,
        "course": course,
        "subject": subject,
        "detail": canonical(detail or {}),
    }
    return Entry(
        seq=head[0] + 1,
        at_ms=at_ms,
        actor=actor,
        action=action,
        learner=learner,
        course=course,
        subject=subject,
        detail=fields["detail"],
        prev_hash=head[1],
        hash=entry_hash(fields, head[1]),
    )


def first_break(entries: list[Entry], head: tuple[int, str]) -> str | None:
    """What is wrong with the chain, naming the first altered or missing entry; None if intact."""
    expected_seq, previous = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            return f"entry {expected_seq} is missing (the next entry found is {entry.seq})"
        fields = {name: getattr(entry, name) for name in HASHED_FIELDS}
        if entry.prev_hash != previous:
            return f"entry {entry.seq} was altered: it does not follow entry {entry.seq - 1}"
        if entry_hash(fields, entry.prev_hash) != entry.hash:
            return f"entry {entry.seq} was altered: its content does not match its hash"
        expected_seq, previous = expected_seq + 1, entry.hash
    last_seq = expected_seq - 1
    if head[0] > last_seq:
        return f"entry {last_seq + 1} is missing (the log should end at entry {head[0]})"
    if head[0] < last_seq:
        return f"entry {head[0] + 1} was appended outside the audit log's writer"
    if head[1] != previous:
        return f"entry {last_seq} was altered: it is not the recorded head of the chain"
    return None
