"""Statement result formats: exact, ids and canonical (Communication 2.1.3, `format`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lrs.types import Statement

AGENT_IDS = ("mbox", "mbox_sha1sum", "openid", "account")
LANGUAGE_MAPS = ("name", "description")


def _agent_ids(agent: Any) -> Any:
    if not isinstance(agent, dict):
        return agent
    slim = {k: agent[k] for k in ("objectType", *AGENT_IDS) if k in agent}
    has_ifi = any(k in agent for k in AGENT_IDS)
    if agent.get("objectType") == "Group" and "member" in agent and not has_ifi:
        slim["member"] = [_agent_ids(m) for m in agent["member"]]
    return slim


def _activity_ids(activity: Any) -> Any:
    # The id alone identifies an Activity (its objectType is the default).
    return {"id": activity["id"]} if isinstance(activity, dict) and "id" in activity else activity


def _map_context(
    context: Any, on_agent: Callable[[Any], Any], on_activity: Callable[[Any], Any]
) -> Any:
    if not isinstance(context, dict):
        return context
    out = dict(context)
    for key in ("instructor", "team"):
        if key in out:
            out[key] = on_agent(out[key])
    for key, holder in (("contextAgents", "agent"), ("contextGroups", "group")):
        if isinstance(out.get(key), list):
            out[key] = [
                {**item, holder: on_agent(item.get(holder))} if isinstance(item, dict) else item
                for item in out[key]
            ]
    groups = out.get("contextActivities")
    if isinstance(groups, dict):
        out["contextActivities"] = {
            name: [on_activity(a) for a in value] if isinstance(value, list) else on_activity(value)
            for name, value in groups.items()
        }
    return out


def _map_statement(
    statement: Statement,
    on_agent: Callable[[Any], Any],
    on_activity: Callable[[Any], Any],
    on_verb: Callable[[Any], Any],
) -> Statement:
    out = dict(statement)
    for key in ("actor", "authority"):
        if key in out:
            out[key] = on_agent(out[key])
    if "verb" in out:
        out["verb"] = on_verb(out["verb"])
    obj = out.get("object")
    if isinstance(obj, dict):
        kind = obj.get("objectType", "Activity")
        if kind in ("Agent", "Group"):
            out["object"] = on_agent(obj)
        elif kind == "Activity":
            out["object"] = on_activity(obj)
        elif kind == "SubStatement":
            out["object"] = _map_statement(obj, on_agent, on_activity, on_verb)
    if "context" in out:
        out["context"] = _map_context(out["context"], on_agent, on_activity)
    return out


def ids_format(statement: Statement) -> Statement:
    """Agents, groups, activities and verbs reduced to what identifies them."""
    return _map_statement(
        statement,
        _agent_ids,
        _activity_ids,
        lambda verb: {"id": verb["id"]} if isinstance(verb, dict) else verb,
    )


def pick_language(language_map: Mapping[str, str], accepted: list[str]) -> dict[str, str]:
    """One entry of a language map, the best for the client's Accept-Language."""
    if not language_map:
        return {}
    lowered = {tag.lower(): tag for tag in language_map}
    for wanted in accepted:
        wanted = wanted.lower()
        if wanted == "*":
            break
        if wanted in lowered:
            tag = lowered[wanted]
            return {tag: language_map[tag]}
        for tag_lower, tag in lowered.items():
            if tag_lower.split("-")[0] == wanted.split("-")[0]:
                return {tag: language_map[tag]}
    tag = next(iter(language_map))
    return {tag: language_map[tag]}


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges of an Accept-Language header, best first."""
    if not header:
        return []
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranges.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranges)]


def _filter_definition(definition: Any, accepted: list[str]) -> Any:
    if not isinstance(definition, dict):
        return definition
    out = dict(definition)
    for key in LANGUAGE_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = pick_language(out[key], accepted)
    for key in ("choices", "scale", "source", "target", "steps"):
        if isinstance(out.get(key), list):
            out[key] = [
                {**c, "description": pick_language(c["description"], accepted)}
                if isinstance(c, dict) and isinstance(c.get("description"), dict)
                else c
                for c in out[key]
            ]
    return out


def canonical_format(
    statement: Statement, definitions: Mapping[str, dict[str, Any]], accepted: list[str]
) -> Statement:
    """Activities with the LRS's canonical definitions and language maps cut to one language."""

    def on_activity(activity: Any) -> Any:
        if not isinstance(activity, dict):
            return activity
        out = dict(activity)
        definition = definitions.get(str(activity.get("id")), activity.get("definition"))
        if definition:
            out["definition"] = _filter_definition(definition, accepted)
        return out

    def on_verb(verb: Any) -> Any:
        if isinstance(verb, dict) and isinstance(verb.get("display"), dict):
            return {**verb, "display": pick_language(verb["display"], accepted)}
        return verb

    return _map_statement(statement, lambda agent: agent, on_activity, on_verb)


def activity_ids_in(statements: list[Statement]) -> set[str]:
    """Activity ids whose canonical definitions a canonical-format page needs."""
    found: set[str] = set()

    def collect(activity: Any) -> Any:
        if isinstance(activity, dict) and isinstance(activity.get("id"), str):
            found.add(activity["id"])
        return activity

    for statement in statements:
        _map_statement(statement, lambda agent: agent, collect, lambda verb: verb)
    return found
