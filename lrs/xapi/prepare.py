"""Fill the properties the LRS assigns: id, stored, timestamp, authority, version (Data 2.4)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lrs.types import Statement


@dataclass(frozen=True)
class Authority:
    """Who asserts the statements: the credential's agent (Data 2.4.9)."""

    credential_key: str
    agent: dict[str, Any]


def authority_agent(name: str, key: str, homepage: str) -> dict[str, Any]:
    return {"objectType": "Agent", "name": name, "account": {"homePage": homepage, "name": key}}


def format_instant_ms(epoch_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, as `stored` is served."""
    dt = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class StoredClock:
    """Hands out `stored` instants in milliseconds that never go backwards within a process,
    and knows which of them belong to writes not yet committed."""

    def __init__(self) -> None:
        self._last_ms = 0
        self._in_flight: dict[int, int] = {}

    def now_ms(self) -> int:
        now = time.time_ns() // 1_000_000
        self._last_ms = max(now, self._last_ms)
        return self._last_ms

    def start_write(self) -> int:
        """A `stored` instant for a write that is about to commit."""
        stored = self.now_ms()
        self._in_flight[stored] = self._in_flight.get(stored, 0) + 1
        return stored

    def finish_write(self, stored_ms: int) -> None:
        left = self._in_flight.get(stored_ms, 0) - 1
        if left > 0:
            self._in_flight[stored_ms] = left
        else:
            self._in_flight.pop(stored_ms, None)

    def consistent_through_ms(self) -> int:
        """Every statement stored before this instant is committed (Consistent-Through)."""
        if self._in_flight:
            return min(self._in_flight) - 1
        return self.now_ms()


# New statement ids are made 4,096 at a time from one read of the OS's random bytes: one
# os.urandom call (a system call) per id cost more than the rest of preparing a statement.
_ID_BATCH = 4096
_spare_ids: list[str] = []


def _forget_spare_ids() -> None:
    # A forked child must not hand out the ids its parent holds in reserve.
    _spare_ids.clear()


os.register_at_fork(after_in_child=_forget_spare_ids)


def _random_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs in standard form, as uuid.uuid4() gives them."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    hexed = raw.hex()
    return [
        f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        for h in (hexed[i : i + 32] for i in range(0, len(hexed), 32))
    ]


def new_statement_id() -> str:
    """A random (version 4) UUID. list.pop is atomic: no two callers get the same one."""
    try:
        return _spare_ids.pop()
    except IndexError:
        _spare_ids.extend(_random_uuids(_ID_BATCH))
        return _spare_ids.pop()


def version_property(request_version: str) -> str:
    """The `version` given to statements that carry none (Data 2.4.10)."""
    return "2.0.0" if request_version.startswith("2.") else "1.0.0"


def _context_activities_as_lists(statement: Statement) -> Statement:
    """contextActivities values are always served as arrays (Data 2.4.6.2)."""
    context = statement.get("context")
    if not isinstance(context, dict):
        return statement
    groups = context.get("contextActivities")
    if not isinstance(groups, dict) or all(isinstance(v, list) for v in groups.values()):
        return statement
    lists = {name: value if isinstance(value, list) else [value] for name, value in groups.items()}
    return {**statement, "context": {**context, "contextActivities": lists}}


def _normalised(statement: Statement) -> Statement:
    statement = _context_activities_as_lists(statement)
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        statement = {**statement, "object": _context_activities_as_lists(obj)}
    return statement


def prepare_statement(
    statement: Statement, authority: Authority, request_version: str
) -> Statement:
    """A copy ready to store but for `stored`: id, authority and version set by the LRS."""
    prepared = dict(_normalised(statement))
    prepared["id"] = str(statement["id"]).lower() if "id" in statement else new_statement_id()
    # The LRS overwrites authority with the credential's agent (Data 2.4.9).
    prepared["authority"] = authority.agent
    prepared.setdefault("version", version_property(request_version))
    return prepared


def without_version(statement: Statement) -> Statement:
    """The statement without `version`: how it was sent when the LRS gave it one."""
    return {key: value for key, value in statement.items() if key != "version"}


def stored_properties(timestamped: bool, stored: str) -> dict[str, str]:
    """`stored`, and `timestamp` when the client gave none (Data 2.4.7, 2.4.8)."""
    if timestamped:
        return {"stored": stored}
    return {"timestamp": stored, "stored": stored}
