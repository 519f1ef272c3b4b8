"""Parse Statement resource GET parameters (xAPI 1.0.3 Communication 2.1.3) into a query."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from lrs.errors import BadRequest
from lrs.xapi import index
from lrs.xapi.validate import agent_errors, is_iri, is_uuid

FILTER_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "ascending",
    }
)
SHAPE_PARAMS = frozenset({"format", "attachments"})
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId"})
KNOWN_PARAMS = FILTER_PARAMS | SHAPE_PARAMS | SINGLE_PARAMS
FORMATS = ("exact", "ids", "canonical")


@dataclass(frozen=True)
class SingleQuery:
    """GET one statement by statementId (voided=False) or voidedStatementId (voided=True)."""

    statement_id: str
    voided: bool
    format: str = "exact"
    attachments: bool = False


# (kinds, value): a statement matches when it has an index row of one of the kinds.
Filter = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class StatementQuery:
    """GET many statements; every filter must match each result."""

    filters: tuple[Filter, ...] = ()
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 0
    ascending: bool = False
    format: str = "exact"
    attachments: bool = False
    params: dict[str, str] = field(default_factory=dict)


def parse_bool(name: str, value: str) -> bool:
    # Case-insensitive: TinCanPython sends `True`.
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise BadRequest(f"{name}: must be true or false, got {value!r}")


def parse_instant_ms(name: str, value: str) -> int:
    """An ISO 8601 timestamp parameter as epoch milliseconds."""
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: must be an ISO 8601 timestamp, got {value!r}") from None
    if instant.tzinfo is None:
        raise BadRequest(f"{name}: must include a timezone, got {value!r}")
    return int(instant.timestamp() * 1000 // 1)


def parse_agent_param(value: str, version: str) -> dict[str, Any]:
    """The `agent` parameter: a JSON Agent or identified Group."""
    try:
        agent = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise BadRequest(f"agent: must be a JSON Agent object, got {value!r}") from None
    errors = agent_errors(agent, version, "agent")
    if errors:
        raise BadRequest(errors[0], errors)
    if index.agent_key(agent) is None:
        raise BadRequest("agent: must have an inverse functional identifier")
    return dict(agent)


def _check_known(params: dict[str, str]) -> None:
    unknown = sorted(set(params) - KNOWN_PARAMS)
    if unknown:
        raise BadRequest(f"unknown parameter(s) for the Statement resource: {', '.join(unknown)}")


def _shape(params: dict[str, str]) -> tuple[str, bool]:
    fmt = params.get("format", "exact")
    if fmt not in FORMATS:
        raise BadRequest(f"format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    attachments = parse_bool("attachments", params.get("attachments", "false"))
    return fmt, attachments


def parse_single(params: dict[str, str]) -> SingleQuery | None:
    """A single-statement GET, or None when the request asks for many."""
    _check_known(params)
    present = SINGLE_PARAMS & set(params)
    if not present:
        return None
    if len(present) > 1:
        raise BadRequest("statementId and voidedStatementId cannot be used together")
    others = set(params) - SINGLE_PARAMS - SHAPE_PARAMS
    if others:
        raise BadRequest(
            "statementId/voidedStatementId allow only 'format' and 'attachments' beside them, "
            f"got {', '.join(sorted(others))}"
        )
    (name,) = present
    if not is_uuid(params[name]):
        raise BadRequest(f"{name}: must be a UUID, got {params[name]!r}")
    fmt, attachments = _shape(params)
    return SingleQuery(params[name].lower(), name == "voidedStatementId", fmt, attachments)


def parse_query(
    params: dict[str, str], version: str, default_limit: int, max_limit: int
) -> StatementQuery:
    """A many-statement GET. Raises BadRequest naming the bad parameter."""
    _check_known(params)
    filters: list[Filter] = []
    if "agent" in params:
        related = parse_bool("related_agents", params.get("related_agents", "false"))
        key = index.agent_key(parse_agent_param(params["agent"], version))
        filters.append((index.RELATED_AGENT_KINDS if related else index.AGENT_KINDS, str(key)))
    elif "related_agents" in params:
        parse_bool("related_agents", params["related_agents"])
    if "verb" in params:
        filters.append(((index.VERB,), _iri("verb", params["verb"])))
    if "activity" in params:
        related = parse_bool("related_activities", params.get("related_activities", "false"))
        kinds = index.RELATED_ACTIVITY_KINDS if related else index.ACTIVITY_KINDS
        filters.append((kinds, _iri("activity", params["activity"])))
    elif "related_activities" in params:
        parse_bool("related_activities", params["related_activities"])
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise BadRequest(f"registration: must be a UUID, got {params['registration']!r}")
        filters.append(((index.REGISTRATION,), params["registration"].lower()))
    fmt, attachments = _shape(params)
    return StatementQuery(
        filters=tuple(filters),
        since_ms=parse_instant_ms("since", params["since"]) if "since" in params else None,
        until_ms=parse_instant_ms("until", params["until"]) if "until" in params else None,
        limit=_limit(params.get("limit"), default_limit, max_limit),
        ascending=parse_bool("ascending", params.get("ascending", "false")),
        format=fmt,
        attachments=attachments,
        params=dict(params),
    )


def _iri(name: str, value: str) -> str:
    if not is_iri(value):
        raise BadRequest(f"{name}: must be an IRI, got {value!r}")
    return value


def _limit(raw: str | None, default_limit: int, max_limit: int) -> int:
    if raw is None:
        return default_limit
    # ASCII digits only: str.isdigit() admits "²", which int() refuses, and a number too long
    # for int() (over 4,300 digits) is over any limit anyway.
    if not (raw.isascii() and raw.isdigit()):
        raise BadRequest(f"limit: must be a non-negative integer, got {raw!r}")
    value = int(raw) if len(raw) <= 18 else max_limit
    # 0 means "the most the server allows" (2.1.3).
    return max_limit if value == 0 else min(value, max_limit)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the original parameters and the last seq served."""

    params: dict[str, str]
    after_seq: int


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps({"p": cursor.params, "s": cursor.after_seq})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        params, after = data["p"], data["s"]
        if not isinstance(params, dict) or not isinstance(after, int):
            raise ValueError
        return Cursor({str(k): str(v) for k, v in params.items()}, after)
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest("more: not a continuation token this LRS issued") from None
