"""Document resources (Communication 2.2-2.7, 3.1): parameters, ETags, preconditions, merge."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrs.errors import BadRequest, Conflict, PreconditionFailed
from lrs.types import Statement
from lrs.xapi import index, jsonio
from lrs.xapi.query import parse_agent_param, parse_instant_ms
from lrs.xapi.validate import activity_id_errors, is_uuid

JSON_TYPE = "application/json"
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Resource:
    """One of the three document resources and the parameters that address its documents."""

    kind: str
    name: str
    id_param: str
    has_activity: bool
    has_agent: bool
    has_registration: bool
    # Only the State Resource deletes every document of its context at once (2.3).
    deletes_many: bool


STATE = Resource(
    kind="state", name="State", id_param="stateId",
    has_activity=True, has_agent=True, has_registration=True, deletes_many=True,
)  # fmt: skip
ACTIVITY_PROFILE = Resource(
    kind="activity_profile", name="Activity Profile", id_param="profileId",
    has_activity=True, has_agent=False, has_registration=False, deletes_many=False,
)  # fmt: skip
AGENT_PROFILE = Resource(
    kind="agent_profile", name="Agent Profile", id_param="profileId",
    has_activity=False, has_agent=True, has_registration=False, deletes_many=False,
)  # fmt: skip


@dataclass(frozen=True)
class DocumentScope:
    """The context documents live in; "" stands for a part the resource does not use."""

    kind: str
    activity_id: str = ""
    agent_key: str = ""
    # None matches every registration (multiple-document GET and DELETE without one, 2.3).
    registration: str | None = ""


@dataclass(frozen=True)
class DocumentParams:
    scope: DocumentScope
    doc_id: str | None
    since_ms: int | None


@dataclass(frozen=True)
class Preconditions:
    """The If-Match / If-None-Match request headers, as sent (Communication 3.1)."""

    if_match: str | None = None
    if_none_match: str | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True)
class StoredContent:
    content_type: str
    content: bytes
    etag: str


# --- parameters -----------------------------------------------------------------------------


def _allowed_params(resource: Resource, method: str) -> set[str]:
    allowed = {resource.id_param}
    if resource.has_activity:
        allowed.add("activityId")
    if resource.has_agent:
        allowed.add("agent")
    if resource.has_registration:
        allowed.add("registration")
    if method == "GET":
        allowed.add("since")
    return allowed


def _required(params: dict[str, str], name: str, resource: Resource) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BadRequest(f"{name}: is required by the {resource.name} Resource")
    return value


def _activity_id(params: dict[str, str], resource: Resource) -> str:
    value = _required(params, "activityId", resource)
    errors = activity_id_errors(value)
    if errors:
        raise BadRequest(errors[0], errors)
    return value


def _agent_key(params: dict[str, str], resource: Resource, version: str) -> str:
    # The agent is an Agent, or an identified Group's identifier (2.6 note); never anonymous.
    agent = parse_agent_param(_required(params, "agent", resource), version)
    return str(index.agent_key(agent))


def _registration(params: dict[str, str]) -> str | None:
    value = params.get("registration")
    if value is None:
        return None
    if not is_uuid(value):
        raise BadRequest(f"registration: must be a UUID, got {value!r}")
    return value.lower()


def _doc_id(params: dict[str, str], resource: Resource, method: str) -> str | None:
    name = resource.id_param
    single_only = method in ("PUT", "POST") or (method == "DELETE" and not resource.deletes_many)
    if single_only:
        return _required(params, name, resource)
    if name in params and params[name] == "":
        raise BadRequest(f"{name}: must not be empty")
    return params.get(name)


def parse_document_params(
    resource: Resource, params: dict[str, str], method: str, version: str
) -> DocumentParams:
    """The document (or documents) a request addresses; a 400 for anything missing or malformed."""
    method = "GET" if method == "HEAD" else method
    unknown = sorted(set(params) - _allowed_params(resource, method))
    if unknown:
        raise BadRequest(f"unknown parameter(s) for {method} {resource.name}: {', '.join(unknown)}")
    activity_id = _activity_id(params, resource) if resource.has_activity else ""
    agent_key = _agent_key(params, resource, version) if resource.has_agent else ""
    registration = _registration(params) if resource.has_registration else None
    doc_id = _doc_id(params, resource, method)
    if "since" in params and doc_id is not None:
        raise BadRequest(f"since: applies to listing {resource.id_param}s, not to one document")
    since_ms = parse_instant_ms("since", params["since"]) if "since" in params else None
    if doc_id is not None and registration is None:
        # A single document without a registration is the one stored without one.
        registration = ""
    scope = DocumentScope(resource.kind, activity_id, agent_key, registration)
    return DocumentParams(scope, doc_id, since_ms)


# --- ETags and preconditions (Communication 3.1) --------------------------------------------


def etag_of(content: bytes) -> str:
    """The quoted, lowercase SHA-1 hex of the content (1.0.3 Communication 3.1 MUST)."""
    return '"' + hashlib.sha1(content).hexdigest() + '"'


def _tags(header: str) -> list[str]:
    """The entity tags in a header, without quotes or weak markers; "*" stays "*"."""
    tags = []
    for part in header.split(","):
        tag = part.strip()
        tag = tag[2:] if tag[:2] in ("W/", "w/") else tag
        tags.append(tag.strip('"'))
    return [tag for tag in tags if tag]


def _matches(header: str, etag: str) -> bool:
    tags = _tags(header)
    return "*" in tags or etag.strip('"') in tags


def _if_match_fails(header: str | None, current_etag: str | None) -> bool:
    # RFC 2616 14.24: with no current document even "*" fails.
    return header is not None and (current_etag is None or not _matches(header, current_etag))


def _if_none_match_fails(header: str | None, current_etag: str | None) -> bool:
    # RFC 2616 14.26: "*" fails when any document exists, a tag list when one matches.
    return header is not None and current_etag is not None and _matches(header, current_etag)


def check_preconditions(current_etag: str | None, pre: Preconditions) -> None:
    """RFC 2616 If-Match / If-None-Match for writes: 412 when either fails (Communication 3.1)."""
    if _if_match_fails(pre.if_match, current_etag):
        raise PreconditionFailed("If-Match does not match the document's ETag; GET it again")
    if _if_none_match_fails(pre.if_none_match, current_etag):
        raise PreconditionFailed("If-None-Match: the document already exists (or has that ETag)")


def check_put_headers(resource: Resource, version: str, exists: bool, pre: Preconditions) -> None:
    """Communication 3.1: a PUT without If-Match / If-None-Match.

    Over an existing document it is a 409 for the profile resources, and (2.0.0, suite 4.1.4)
    for State too; 1.0.3 lets State PUTs go without headers. 1.0.3 clients MUST send one of the
    headers to the profile resources, and the 1.0.3 suite expects a 400 when they do not.
    """
    if pre.given:
        return
    v2 = version.startswith("2.")
    if exists and (v2 or resource is not STATE):
        raise Conflict(
            "the document already exists: GET it, then PUT again with If-Match set to its ETag "
            "(or use If-None-Match: * to create only)"
        )
    if not exists and not v2 and resource is not STATE:
        raise BadRequest(f"a PUT to the {resource.name} Resource needs If-Match or If-None-Match")


# --- content and JSON merge (Communication 2.2) ---------------------------------------------


def is_json_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


def _json_object(content: bytes, what: str) -> dict[str, Any]:
    value = jsonio.loads(content, what)
    if not isinstance(value, dict):
        raise BadRequest(f"{what} is not a JSON object, so it cannot be merged")
    return value


def posted_content(current: StoredContent | None, content_type: str, content: bytes) -> bytes:
    """What a POST stores: the document itself when new, else the top-level merge of both.

    Both documents must be application/json objects to merge; otherwise a 400 (2.2). A posted
    application/json body must be a JSON object even when nothing is stored yet.
    """
    posted_json = is_json_type(content_type)
    posted = _json_object(content, "the posted document") if posted_json else None
    if current is None:
        return content
    if posted is None or not is_json_type(current.content_type):
        raise BadRequest("POST merges only application/json documents; PUT replaces other types")
    existing = _json_object(current.content, "the stored document")
    return jsonio.dumps({**existing, **posted}, "the merged document")


# --- the Agents resource: Person objects (Communication 2.4) --------------------------------

IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def parse_person_agent(params: dict[str, str], version: str) -> dict[str, Any]:
    """The /agents `agent` parameter: an Agent with one identifier, not a Group (2.4)."""
    unknown = sorted(set(params) - {"agent"})
    if unknown:
        raise BadRequest(f"unknown parameter(s) for the Agents Resource: {', '.join(unknown)}")
    if not params.get("agent"):
        raise BadRequest("agent: is required by the Agents Resource")
    agent = parse_agent_param(params["agent"], version)
    if agent.get("objectType") == "Group":
        raise BadRequest("agent: must be an Agent, not a Group")
    return agent


def _actor_and_members(actor: Any) -> Iterator[dict[str, Any]]:
    if isinstance(actor, dict):
        yield actor
        for member in actor.get("member") or ():
            if isinstance(member, dict):
                yield member


def _context_agents(context: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(context, dict):
        return
    yield from _actor_and_members(context.get("instructor"))
    yield from _actor_and_members(context.get("team"))
    for item in context.get("contextAgents") or ():
        yield from _actor_and_members(item.get("agent") if isinstance(item, dict) else None)
    for item in context.get("contextGroups") or ():
        yield from _actor_and_members(item.get("group") if isinstance(item, dict) else None)


def agents_in(statement: Statement) -> Iterator[dict[str, Any]]:
    """Every Agent and Group object a statement names (actor, object, context, authority)."""
    obj = statement.get("object")
    parts = [statement]
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        parts.append(obj)
    for part in parts:
        yield from _actor_and_members(part.get("actor"))
        target = part.get("object")
        if isinstance(target, dict) and target.get("objectType") in ("Agent", "Group"):
            yield from _actor_and_members(target)
        yield from _context_agents(part.get("context"))
    yield from _actor_and_members(statement.get("authority"))


def person_object(agent: dict[str, Any], statements: list[Statement]) -> dict[str, Any]:
    """The Person for an Agent: its identifier and every name it was given, asked-for name first.

    Each property is an array (2.4, Person Properties). An unknown Agent still gets a Person
    built from the request alone.
    """
    key = index.agent_key(agent)
    names: dict[str, None] = {}
    if isinstance(agent.get("name"), str):
        names[agent["name"]] = None
    for statement in statements:
        for named in agents_in(statement):
            if isinstance(named.get("name"), str) and index.agent_key(named) == key:
                names.setdefault(named["name"], None)
    person: dict[str, Any] = {"objectType": "Person"}
    if names:
        person["name"] = list(names)
    for prop in IFI_PROPERTIES:
        if prop in agent:
            value = agent[prop]
            if prop == "account":
                value = {"homePage": value["homePage"], "name": value["name"]}
            person[prop] = [value]
    return person


# --- the Activities resource (Communication 2.5) ----------------------------------------------


def parse_activity_id(params: dict[str, str]) -> str:
    unknown = sorted(set(params) - {"activityId"})
    if unknown:
        raise BadRequest(f"unknown parameter(s) for the Activities Resource: {', '.join(unknown)}")
    value = params.get("activityId")
    if not value:
        raise BadRequest("activityId: is required by the Activities Resource")
    errors = activity_id_errors(value)
    if errors:
        raise BadRequest(errors[0], errors)
    return value


def activity_object(activity_id: str, definition: dict[str, Any] | None) -> dict[str, Any]:
    """The full Activity Object; without a canonical definition, just its id (2.5)."""
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = definition
    return activity
