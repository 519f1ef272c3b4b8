"""What a statement says about a learner and a course, as plain facts (pure, no I/O).

A statement counts for a course when its object, or one of its context activities, is an
activity IRI the catalogue lists: a Moodle course or module (logstore_xapi), a cmi5 AU or
package, a face-to-face session, or the course's own IRI. Its source does not matter.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeGuard

import orjson

from courses.catalog import Catalog, Target
from lrs.types import Statement
from lrs.xapi.index import agent_key, context_activities

# The extensions ACBC sources may add to context.extensions (README "Progress API").
EXTENSIONS = "https://acbc.iom.int/xapi/extensions/"
EMAIL_EXTENSION = EXTENSIONS + "email"  # the learner's email, when the actor is an account
COUNTRY_EXTENSION = EXTENSIONS + "country"  # ISO 3166 alpha-2 code of the learner's country
COHORT_EXTENSION = EXTENSIONS + "cohort"  # training cohort or session group
# result.extensions: how many consecutive days an attendance statement covers (default 1).
ATTENDANCE_DAYS_EXTENSION = EXTENSIONS + "attendance-days"

ADL = "http://adlnet.gov/expapi/verbs/"
W3ID = "https://w3id.org/xapi/adl/verbs/"
# cmi5 (9.3) uses ADL's completed/passed/failed and w3id's satisfied/waived; logstore_xapi
# sends ADL's completed for course and module completion; attendance sheets send attended.
OUTCOMES = {
    ADL + "completed": "completed",
    W3ID + "completed": "completed",
    ADL + "passed": "passed",
    W3ID + "passed": "passed",
    ADL + "failed": "failed",
    W3ID + "failed": "failed",
    W3ID + "satisfied": "satisfied",
    ADL + "satisfied": "satisfied",
    W3ID + "waived": "satisfied",
    ADL + "attended": "attended",
}
ACTIVITY = "activity"  # any other statement: the learner was there, nothing more
MAX_ATTENDANCE_DAYS = 366


class Fact(NamedTuple):
    """One statement's contribution to one unit (or the course itself) of one course."""

    seq: int
    statement_id: str
    agent_key: str
    course: str
    unit: str
    outcome: str
    score: float | None
    days: int
    at_ms: int
    country: str | None
    cohort: str | None


class Identity(NamedTuple):
    """An agent as a statement shows it: its key, a hash of its email if one is known, its name."""

    key: str
    email_sha1: str | None
    name: str | None
    actor: dict[str, Any]


def email_sha1(email: str) -> str:
    """The mbox_sha1sum an agent with this email would have (Data 2.4.2.1)."""
    return hashlib.sha1(f"mailto:{email.strip().lower()}".encode()).hexdigest()


def _extensions(statement: Statement) -> dict[str, Any]:
    context = statement.get("context")
    extensions = context.get("extensions") if isinstance(context, dict) else None
    return extensions if isinstance(extensions, dict) else {}


def identity_of(statement: Statement, extensions: dict[str, Any] | None = None) -> Identity | None:
    """The actor as an identity, when it is a single identified Agent (not a Group)."""
    actor = statement.get("actor")
    if not isinstance(actor, dict) or actor.get("objectType", "Agent") != "Agent":
        return None
    key = agent_key(actor)
    if key is None:
        return None
    name = actor.get("name")
    email = _email_hash(actor, _extensions(statement) if extensions is None else extensions)
    return Identity(key, email, name if isinstance(name, str) else None, actor)


def agent_json(agent: dict[str, Any]) -> str:
    """The agent's identifier alone, as compact JSON (names vary between statements)."""
    shown = {k: agent[k] for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in agent}
    return orjson.dumps(shown).decode()


def _email_hash(actor: dict[str, Any], extensions: dict[str, Any]) -> str | None:
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox.lower().startswith("mailto:"):
        return email_sha1(mbox[7:])
    sha1 = actor.get("mbox_sha1sum")
    if isinstance(sha1, str):
        return sha1.lower()
    email = extensions.get(EMAIL_EXTENSION)
    if isinstance(email, str) and "@" in email:
        return email_sha1(email.removeprefix("mailto:"))
    return None


def instant_ms(value: Any) -> int | None:
    """An xAPI timestamp as epoch milliseconds (a timestamp without zone is UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def scaled_score(result: Any) -> float | None:
    """result.score.scaled, or raw placed between min and max when only those are given."""
    score = result.get("score") if isinstance(result, dict) else None
    if not isinstance(score, dict):
        return None
    scaled = score.get("scaled")
    if _is_number(scaled):
        return float(scaled)
    raw, low, high = score.get("raw"), score.get("min", 0), score.get("max")
    if _is_number(raw) and _is_number(low) and _is_number(high) and high > low:
        return round((raw - low) / (high - low), 6)
    return None


def _outcome(statement: Statement) -> str:
    """What the statement says of its object, by verb; logstore_xapi's quiz completion carries
    result.success, which makes a completion a pass or a fail."""
    verb = statement.get("verb", {}).get("id")
    outcome = OUTCOMES.get(verb, ACTIVITY) if isinstance(verb, str) else ACTIVITY
    result = statement.get("result")
    if outcome == "completed" and isinstance(result, dict):
        success = result.get("success")
        if success is True:
            return "passed"
        if success is False:
            return "failed"
    return outcome


def _attendance_days(statement: Statement) -> int:
    result = statement.get("result")
    extensions = result.get("extensions") if isinstance(result, dict) else None
    days = extensions.get(ATTENDANCE_DAYS_EXTENSION) if isinstance(extensions, dict) else None
    if isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_ATTENDANCE_DAYS:
        return days
    return 1


def _declared_country(
    statement: Statement, extensions: dict[str, Any], catalog: Catalog
) -> tuple[str | None, str | None]:
    """(the statement's country extension, the country of the Moodle site of the actor's account).

    A fact's country is the extension, else its activity's (a session's or a Moodle site's),
    else the actor's site's.
    """
    declared = extensions.get(COUNTRY_EXTENSION)
    if isinstance(declared, str) and len(declared) == 2 and declared.isalpha():
        return declared.upper(), None
    account = statement["actor"].get("account")
    if isinstance(account, dict) and isinstance(account.get("homePage"), str):
        return None, catalog.site_countries.get(account["homePage"].rstrip("/"))
    return None, None


def _declared_cohort(extensions: dict[str, Any]) -> str | None:
    declared = extensions.get(COHORT_EXTENSION)
    if isinstance(declared, str) and declared.strip():
        return declared.strip()[:100]
    return None


def _targets(statement: Statement, catalog: Catalog) -> list[tuple[Target, bool]]:
    """(target, whether the statement's object is that target's activity), object first."""
    found: list[tuple[Target, bool]] = []
    known = catalog.targets
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity":
        found += [(t, True) for t in known.get(obj.get("id", ""), ())]
    for activity in context_activities(statement.get("context")):
        hits = known.get(activity.get("id", ""))
        if hits:
            found += [(t, False) for t in hits]
    return found


def read_statement(
    seq: int, statement: Statement, catalog: Catalog
) -> tuple[Identity | None, list[Fact]]:
    """Who a stored statement is about and the facts it adds to the courses it concerns.

    A statement about no catalogue activity (most of an LMS's chatter) gives (None, []).
    """
    targets = _targets(statement, catalog)
    if not targets:
        return None, []
    extensions = _extensions(statement)
    identity = identity_of(statement, extensions)
    at_ms = instant_ms(statement.get("timestamp")) or instant_ms(statement.get("stored"))
    if identity is None or at_ms is None:
        return None, []
    outcome = _outcome(statement)
    score = scaled_score(statement.get("result")) if outcome != ACTIVITY else None
    days = _attendance_days(statement) if outcome == "attended" else 0
    declared_country, site_country = _declared_country(statement, extensions, catalog)
    declared_cohort = _declared_cohort(extensions)
    statement_id, key = statement["id"], identity.key
    facts: dict[tuple[str, str], Fact] = {}
    for target, is_object in targets:
        if (target.course, target.unit) in facts:
            continue  # the object's own target comes first and wins
        own = is_object and target.unit
        facts[(target.course, target.unit)] = Fact(
            seq,
            statement_id,
            key,
            target.course,
            target.unit,
            outcome if own else ACTIVITY,
            score if own else None,
            days if own else 0,
            at_ms,
            declared_country or target.country or site_country,
            declared_cohort or target.cohort,
        )
    return identity, list(facts.values())
