"""Statement validation for xAPI 1.0.3 and 2.0.0: plain functions that walk parsed JSON."""

from __future__ import annotations

from lrs.xapi._validate_agents import check_actor
from lrs.xapi._validate_formats import check_iri, is_iri, is_uuid, parse_timestamp
from lrs.xapi._validate_statement import check_statement

__all__ = [
    "activity_id_errors",
    "agent_errors",
    "is_iri",
    "is_uuid",
    "parse_timestamp",
    "statement_errors",
]


def _is_v2(version: str) -> bool:
    # Callers pass "1.0.3" or "2.0.0" (the request's X-Experience-API-Version).
    return isinstance(version, str) and version.startswith("2.")


def statement_errors(statement: object, version: str, path: str = "statement") -> list[str]:
    """Every rule `statement` breaks, as "<json path>: <rule>" strings; empty when valid."""
    errs: list[str] = []
    check_statement(statement, path, errs, _is_v2(version))
    return errs


def agent_errors(agent: object, version: str, path: str = "agent") -> list[str]:
    """Problems with an Agent or Group (the `agent` query parameter, document APIs)."""
    errs: list[str] = []
    check_actor(agent, path, errs, _is_v2(version))
    return errs


def activity_id_errors(value: object, path: str = "activityId") -> list[str]:
    """Problems with an Activity id, which must be an IRI (Data 2.4.4.1, Communication 2.5)."""
    errs: list[str] = []
    check_iri(value, path, errs, False)
    return errs
