"""Derive the (kind, value) keys a statement can be found by, before any I/O.

The store keeps these rows beside each statement so every GET filter is one index lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from lrs.types import Statement

AGENT = "agent"  # actor or object (xAPI 1.0.3 Communication 2.1.3, `agent`)
RELATED_AGENT = "agent+"  # authority, instructor, team, SubStatement (`related_agents` adds these)
VERB = "verb"
ACTIVITY = "activity"  # object (`activity`)
RELATED_ACTIVITY = "activity+"  # context activities, SubStatement (`related_activities` adds these)
REGISTRATION = "registration"
AUTHORITY = "authority"  # the credential that stored it, for statements/read/mine
VOIDS = "voids"  # the statement a voiding statement voids
TARGETS = "targets"  # the statement a StatementRef targets (to find it when the target comes)

# Kinds a statement targeting another by StatementRef also matches through its target (2.1.3).
INHERITED_KINDS = (AGENT, RELATED_AGENT, VERB, ACTIVITY, RELATED_ACTIVITY, REGISTRATION)

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

IndexKey = tuple[str, str]

# A related_* filter matches either kind; storing only the extras keeps the index small.
AGENT_KINDS = (AGENT,)
RELATED_AGENT_KINDS = (AGENT, RELATED_AGENT)
ACTIVITY_KINDS = (ACTIVITY,)
RELATED_ACTIVITY_KINDS = (ACTIVITY, RELATED_ACTIVITY)


def agent_key(agent: Any) -> str | None:
    """The inverse functional identifier of an Agent or identified Group, as one string."""
    if not isinstance(agent, dict):
        return None
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"])
    if "mbox_sha1sum" in agent:
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, dict):
        pair = [account.get("homePage"), account.get("name")]
        return "account:" + orjson.dumps(pair).decode()
    return None


def _activity_id(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity":
        value = obj.get("id")
        return value if isinstance(value, str) else None
    return None


def context_activities(context: Any) -> Iterator[dict[str, Any]]:
    """Every activity in context.contextActivities, whether given as one object or a list."""
    if not isinstance(context, dict):
        return
    groups = context.get("contextActivities")
    if not isinstance(groups, dict):
        return
    for value in groups.values():
        for activity in value if isinstance(value, list) else [value]:
            if isinstance(activity, dict):
                yield activity


def statement_activities(statement: Statement) -> Iterator[dict[str, Any]]:
    """Every Activity object in a statement (object, context, SubStatement), for definitions."""
    for part in (statement, _substatement(statement)):
        if part is None:
            continue
        obj = part.get("object")
        if isinstance(obj, dict) and _activity_id(obj) is not None:
            yield obj
        yield from context_activities(part.get("context"))


def _substatement(statement: Statement) -> dict[str, Any] | None:
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        return obj
    return None


def statement_ref_target(statement: Statement) -> str | None:
    """The id of the statement this one targets by StatementRef, if any."""
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "StatementRef":
        target = obj.get("id")
        return target if isinstance(target, str) else None
    return None


def ref_target_key(statement: Statement) -> str | None:
    """The StatementRef target's id as statements are stored and found by: lower-cased."""
    target = statement_ref_target(statement)
    return target.lower() if target is not None else None


def is_voiding(statement: Statement) -> bool:
    verb = statement.get("verb")
    return isinstance(verb, dict) and verb.get("id") == VOIDED_VERB


def _add_actor(keys: set[str], actor: Any) -> None:
    """The actor's own identifier and, for a Group, each member's (members match groups)."""
    if not isinstance(actor, dict):
        return
    key = agent_key(actor)
    if key is not None:
        keys.add(key)
    members = actor.get("member")
    if members:
        for member in members:
            member_key = agent_key(member)
            if member_key is not None:
                keys.add(member_key)


def _add_context_agents(keys: set[str], context: dict[str, Any]) -> None:
    if "instructor" in context:
        _add_actor(keys, context["instructor"])
    if "team" in context:
        _add_actor(keys, context["team"])
    for item in context.get("contextAgents") or ():
        _add_actor(keys, item.get("agent") if isinstance(item, dict) else None)
    for item in context.get("contextGroups") or ():
        _add_actor(keys, item.get("group") if isinstance(item, dict) else None)


def _add_related(part: dict[str, Any], agents: set[str], activities: set[str]) -> None:
    """What the related_* filters match in one statement or SubStatement (2.1.3)."""
    _add_actor(agents, part.get("actor"))
    obj = part.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            _add_actor(agents, obj)
        elif kind == "Activity" and isinstance(obj.get("id"), str):
            activities.add(obj["id"])
    context = part.get("context")
    if isinstance(context, dict):
        _add_context_agents(agents, context)
        for activity in context_activities(context):
            if isinstance(activity.get("id"), str):
                activities.add(activity["id"])


def index_keys(statement: Statement, credential_key: str) -> set[IndexKey]:
    """All (kind, value) pairs of a prepared statement, not counting a StatementRef's target.

    The related kinds hold only what the direct kinds do not (see RELATED_AGENT_KINDS).
    """
    keys: set[IndexKey] = {(VERB, statement["verb"]["id"]), (AUTHORITY, credential_key)}
    direct_agents: set[str] = set()
    _add_actor(direct_agents, statement.get("actor"))
    obj = statement.get("object")
    own_activity = None
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            _add_actor(direct_agents, obj)
        elif kind == "Activity" and isinstance(obj.get("id"), str):
            own_activity = obj["id"]
            keys.add((ACTIVITY, own_activity))
    related_agents: set[str] = set()
    related_activities: set[str] = set()
    _add_related(statement, related_agents, related_activities)
    _add_actor(related_agents, statement.get("authority"))
    sub = _substatement(statement)
    if sub is not None:
        _add_related(sub, related_agents, related_activities)
    for key in direct_agents:
        keys.add((AGENT, key))
    for key in related_agents - direct_agents:
        keys.add((RELATED_AGENT, key))
    related_activities.discard(own_activity)
    for activity in related_activities:
        keys.add((RELATED_ACTIVITY, activity))
    context = statement.get("context")
    if isinstance(context, dict) and isinstance(context.get("registration"), str):
        keys.add((REGISTRATION, context["registration"].lower()))
    target = ref_target_key(statement)
    if target is not None:
        keys.add((TARGETS, target))
        if is_voiding(statement):
            keys.add((VOIDS, target))
    return keys


def inherited_keys(target_keys: Iterable[IndexKey]) -> set[IndexKey]:
    """The target's keys that a statement referring to it also matches by."""
    return {(kind, value) for kind, value in target_keys if kind in INHERITED_KINDS}
