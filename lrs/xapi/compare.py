"""Statement equivalence (xAPI 1.0.3 Data 2.3.1, Statement Comparision Requirements)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lrs.types import Statement

# Properties the LRS may assign, so differences in them are not differences (2.3.1).
LRS_ASSIGNED = ("id", "authority", "stored", "version")


def _parse_instant(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


def _normal(value: Any, key: str = "") -> Any:
    """A form in which equivalent serializations compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "definition" or (key == "verb" and k == "display"):
                continue  # activity definitions and verb displays are not part of a statement
            if k in ("mbox",) and isinstance(v, str):
                v = v.lower()  # mailto addresses compare case-insensitively
            out[k] = _normal(v, k)
        if out.get("objectType") == "Activity" and key == "object":
            del out["objectType"]  # Activity is the default objectType
        return out
    if isinstance(value, list):
        items = [_normal(v, key) for v in value]
        if key == "member":  # group members are unordered (2.3.1)
            return sorted(items, key=repr)
        return items
    if key == "timestamp":
        return _parse_instant(value)
    return value


def comparable(statement: Statement) -> Any:
    """The statement with LRS-assigned properties removed and serializations normalised."""
    stripped = {k: v for k, v in statement.items() if k not in LRS_ASSIGNED and k != "attachments"}
    attachments = statement.get("attachments")
    if attachments:
        stripped["attachments"] = sorted((_normal(a) for a in attachments), key=repr)
    return _normal(stripped)


def equivalent(first: Statement, second: Statement) -> bool:
    """True when two statements say the same thing, as the spec's comparison rules define."""
    first_form = comparable(first)
    second_form = comparable(second)
    # A timestamp the LRS filled in (from stored) is not a difference either.
    if "timestamp" not in first_form or "timestamp" not in second_form:
        first_form.pop("timestamp", None)
        second_form.pop("timestamp", None)
    return bool(first_form == second_form)
