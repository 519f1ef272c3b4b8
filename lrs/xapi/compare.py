"""Statement equivalence (xAPI 1.0.3 Data 2.3.1, Statement Comparision Requirements).

Used to decide whether a resent statement id is a conflict (Communication 2.1.2) and
whether a signed statement matches its JWS payload (Data 2.6).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from lrs.types import Statement

# Properties the LRS may assign while processing (Data 2.3.1, first exception).
_LRS_ASSIGNED = ("id", "authority", "stored", "timestamp", "version")
# The LRS overwrites these on every stored statement, so a resend never matches them.
OVERWRITTEN = ("authority", "stored")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHOWN = 80  # characters of a differing value quoted in an error message
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
# Durations compare to the hundredth of a second (xAPI 2.0.0, 4.2.7 Duration).
_SECONDS_FRACTION = re.compile(r"(\.\d{2})\d+S$")


def equivalent(stored: Statement, received: Statement) -> bool:
    """Whether a resent statement says what the stored one does (Communication 2.1.2)."""
    left = {k: v for k, v in stored.items() if k not in OVERWRITTEN}
    right = {k: v for k, v in received.items() if k not in OVERWRITTEN}
    return statement_difference(left, right) is None


def statement_difference(signed: Statement, received: Statement) -> str | None:
    """Where two statements differ beyond the immutability exceptions, or None if equivalent.

    Ignored, per Data 2.3.1: LRS-assigned id/authority/stored/timestamp/version absent on
    either side, attachments, activity definitions, verb display, timestamp serialization
    (time zone, precision format), Group member order, e-mail domain case, and a default
    objectType (Activity, Agent) written out or left implicit.
    """
    left, right = _without_assignable(signed, received), _without_assignable(received, signed)
    return _first_difference(_normalize(left, ""), _normalize(right, ""), "")


def _without_assignable(statement: Statement, other: Statement) -> dict[str, Any]:
    """Drop attachments, and LRS-assignable properties the other side lacks."""
    return {
        key: value
        for key, value in statement.items()
        if key != "attachments" and (key not in _LRS_ASSIGNED or key in other)
    }


def _normalize(value: Any, key: str) -> Any:
    """A form in which logically equivalent statements are equal."""
    if key == "extensions":
        return value  # free-form JSON: none of the statement rules below apply inside it
    if key in CONTEXT_ACTIVITY_KEYS:
        # One context activity is the same as a list of one (Data 2.4.6.2).
        activities = [value] if isinstance(value, dict) else value
        if isinstance(activities, list):
            return [_normalize(activity, "activity") for activity in activities]
    if isinstance(value, dict):
        return {k: _normalize(v, k) for k, v in value.items() if not _ignored(value, k, key)}
    if isinstance(value, list):
        items = [_normalize(item, key) for item in value]
        # The Agents of a Group are not an ordered list (Data 2.3.1).
        return sorted(items, key=_sort_key) if key == "member" else items
    if isinstance(value, str):
        return _normalize_string(value, key)
    return value


def _ignored(holder: dict[str, Any], key: str, holder_key: str) -> bool:
    """Activity definitions and verb displays are not part of the statement (Data 2.3.1)."""
    if key == "definition":
        return bool(holder.get("objectType", "Activity") == "Activity")
    if key == "objectType":
        # A written-out default type (Activity; Agent for actors) changes nothing (2.4.2, 2.4.4).
        return holder[key] in ("Activity", "Agent")
    return key == "display" and holder_key == "verb"


def _normalize_string(value: str, key: str) -> str:
    if key in ("timestamp", "stored"):
        return _instant(value)
    if key == "mbox":
        local, at, domain = value.rpartition("@")
        return local + at + domain.lower()  # the domain of an e-mail address is case-insensitive
    if key in ("id", "registration") and _UUID.fullmatch(value):
        return value.lower()
    if key == "duration":
        return _SECONDS_FRACTION.sub(r"\1S", value)
    return value


def _instant(value: str) -> str:
    """Timestamps compare as points in time, whatever their zone (Data 2.3.1)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()


def _sort_key(item: Any) -> bytes:
    return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)


def _first_difference(signed: Any, received: Any, path: str) -> str | None:
    """A message naming the first path where the two normalized values differ."""
    if isinstance(signed, dict) and isinstance(received, dict):
        return _dict_difference(signed, received, path)
    if isinstance(signed, list) and isinstance(received, list):
        return _list_difference(signed, received, path)
    # bool is an int in Python but never equal to a JSON number.
    if signed == received and isinstance(signed, bool) == isinstance(received, bool):
        return None
    shown = f"{_shown(signed)} in the payload but {_shown(received)} in the statement"
    return f"{path or 'statement'} is {shown}"


def _dict_difference(signed: dict[str, Any], received: dict[str, Any], path: str) -> str | None:
    for key in sorted(signed.keys() | received.keys()):
        where = f"{path}.{key}" if path else key
        if key not in received:
            return f"{where} is in the payload but not in the statement"
        if key not in signed:
            return f"{where} is in the statement but not in the payload"
        difference = _first_difference(signed[key], received[key], where)
        if difference is not None:
            return difference
    return None


def _list_difference(signed: list[Any], received: list[Any], path: str) -> str | None:
    if len(signed) != len(received):
        return f"{path} has {len(signed)} items in the payload but {len(received)} in the statement"
    for index, (left, right) in enumerate(zip(signed, received, strict=True)):
        difference = _first_difference(left, right, f"{path}[{index}]")
        if difference is not None:
            return difference
    return None


def _shown(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
