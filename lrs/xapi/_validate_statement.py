"""Statement, SubStatement, object, result, context and attachment checks (xAPI Data 2.4)."""

from __future__ import annotations

import re

from lrs.xapi._validate_activity import check_activity, check_activity_or_list
from lrs.xapi._validate_agents import (
    check_actor,
    check_agent,
    check_authority,
    check_group,
    check_team,
    literal,
)
from lrs.xapi._validate_formats import (
    Checker,
    as_object,
    check_boolean,
    check_duration,
    check_extensions,
    check_iri,
    check_iri_array,
    check_irl,
    check_language_map,
    check_language_tag,
    check_string,
    check_timestamp,
    check_uuid,
    check_version,
    is_number,
    remembering_valid,
    require,
    type_error,
    walk,
)

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"

# Data 2.4.11 contentType is an RFC 2046 Internet Media Type: type "/" subtype [params].
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+\s*(?:;.*)?\Z", re.DOTALL)
# Data 2.4.11 sha2: hex SHA-2 digest (224, 256, 384 or 512 bits), as X-Experience-API-Hash.
_SHA2 = re.compile(r"(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})\Z")


# --- Verb (Data 2.4.3) ---------------------------------------------------------------

_VERB_PROPS: dict[str, Checker] = {"id": check_iri, "display": check_language_map}


def check_verb(value: object, path: str, errs: list[str], v2: bool) -> None:
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _VERB_PROPS)
    require(obj, path, errs, "id")


# --- StatementRef (Data 2.4.4.3) -----------------------------------------------------

_STATEMENT_REF_PROPS: dict[str, Checker] = {
    "objectType": literal("StatementRef"),
    "id": check_uuid,
}


def check_statement_ref(value: object, path: str, errs: list[str], v2: bool) -> None:
    # A Statement Reference MUST have objectType "StatementRef" and a UUID "id".
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _STATEMENT_REF_PROPS)
    require(obj, path, errs, "objectType", "id")


# --- Result and Score (Data 2.4.5) ----------------------------------------------------


def _check_number(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.2: strings (even numeric ones) and booleans are rejected where numbers go.
    if not is_number(value):
        errs.append(type_error(value, path, "a number"))


_SCORE_PROPS: dict[str, Checker] = {
    "scaled": _check_number,
    "raw": _check_number,
    "min": _check_number,
    "max": _check_number,
}


def _check_score(value: object, path: str, errs: list[str], v2: bool) -> None:
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _SCORE_PROPS)
    scaled, raw = obj.get("scaled"), obj.get("raw")
    low, high = obj.get("min"), obj.get("max")
    # Data 2.4.5.1: scaled is between -1 and 1 inclusive.
    if is_number(scaled) and not -1 <= scaled <= 1:
        errs.append(f"{path}.scaled: must be between -1 and 1")
    # "min: Decimal number less than max"; raw lies between min and max inclusive.
    if is_number(low) and is_number(high) and low >= high:
        errs.append(f"{path}.min: must be less than max")
    if is_number(raw):
        if is_number(low) and raw < low:
            errs.append(f"{path}.raw: must not be less than min")
        if is_number(high) and raw > high:
            errs.append(f"{path}.raw: must not be greater than max")


_RESULT_PROPS: dict[str, Checker] = {
    "score": _check_score,
    "success": check_boolean,
    "completion": check_boolean,
    "response": check_string,
    "duration": check_duration,
    "extensions": check_extensions,
}


def check_result(value: object, path: str, errs: list[str], v2: bool) -> None:
    obj = as_object(value, path, errs)
    if obj is not None:
        walk(obj, path, errs, v2, _RESULT_PROPS)


# --- Context (Data 2.4.6; contextAgents/contextGroups from xAPI 2.0) ------------------

_CONTEXT_ACTIVITIES_PROPS: dict[str, Checker] = {
    "parent": check_activity_or_list,
    "grouping": check_activity_or_list,
    "category": check_activity_or_list,
    "other": check_activity_or_list,
}


def _check_context_activities(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.6.2: every key MUST be one of parent, grouping, category or other.
    obj = as_object(value, path, errs)
    if obj is not None:
        walk(obj, path, errs, v2, _CONTEXT_ACTIVITIES_PROPS)


def _check_agent_only(value: object, path: str, errs: list[str], v2: bool) -> None:
    # xAPI 2.0 contextAgent.agent is an Agent, not a Group.
    if isinstance(value, dict) and value.get("objectType") == "Group":
        errs.append(f"{path}.objectType: must be 'Agent'")
        return
    check_agent(value, path, errs, v2)


def _check_group_only(value: object, path: str, errs: list[str], v2: bool) -> None:
    # xAPI 2.0 contextGroup.group is a Group (objectType "Group" required).
    if isinstance(value, dict) and value.get("objectType") != "Group":
        errs.append(f"{path}.objectType: must be 'Group'")
        return
    check_group(value, path, errs, v2)


_CONTEXT_AGENT_PROPS: dict[str, Checker] = {
    "objectType": literal("contextAgent"),
    "agent": _check_agent_only,
    "relevantTypes": check_iri_array,
}
_CONTEXT_GROUP_PROPS: dict[str, Checker] = {
    "objectType": literal("contextGroup"),
    "group": _check_group_only,
    "relevantTypes": check_iri_array,
}


def _context_members(props: dict[str, Checker], member_key: str) -> Checker:
    """A checker for an array of contextAgent / contextGroup objects (xAPI 2.0)."""

    def check(value: object, path: str, errs: list[str], v2: bool) -> None:
        if not isinstance(value, list):
            errs.append(type_error(value, path, "an array"))
            return
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            obj = as_object(item, item_path, errs)
            if obj is not None:
                walk(obj, item_path, errs, v2, props)
                require(obj, item_path, errs, "objectType", member_key)

    return check


# A context's registration differs from one attempt to the next, so the context as a whole is
# rarely seen twice; its activities, instructor, team and extensions are, and are remembered.
_CONTEXT_PROPS: dict[str, Checker] = {
    "registration": check_uuid,
    "instructor": remembering_valid(check_actor),
    "team": remembering_valid(check_team),
    "contextActivities": remembering_valid(_check_context_activities),
    "revision": check_string,
    "platform": check_string,
    "language": check_language_tag,
    "statement": check_statement_ref,
    "extensions": remembering_valid(check_extensions),
}
_CONTEXT_PROPS_V2: dict[str, Checker] = {
    **_CONTEXT_PROPS,
    "contextAgents": _context_members(_CONTEXT_AGENT_PROPS, "agent"),
    "contextGroups": _context_members(_CONTEXT_GROUP_PROPS, "group"),
}


def check_context(value: object, path: str, errs: list[str], v2: bool) -> None:
    obj = as_object(value, path, errs)
    if obj is not None:
        walk(obj, path, errs, v2, _CONTEXT_PROPS_V2 if v2 else _CONTEXT_PROPS)


# --- Attachments (Data 2.4.11) --------------------------------------------------------


def _check_content_type(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, str):
        errs.append(type_error(value, path, "an Internet Media Type string"))
    elif _MEDIA_TYPE.match(value) is None:
        errs.append(f"{path}: must be an Internet Media Type (type/subtype)")


def _check_length(value: object, path: str, errs: list[str], v2: bool) -> None:
    # "length": Integer, the attachment size in octets.
    if isinstance(value, bool) or not isinstance(value, int):
        errs.append(type_error(value, path, "an integer"))
    elif value < 0:
        errs.append(f"{path}: must not be negative")


def _check_sha2(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif _SHA2.match(value) is None:
        errs.append(f"{path}: must be a hex-encoded SHA-2 hash")


_ATTACHMENT_PROPS: dict[str, Checker] = {
    "usageType": check_iri,
    "display": check_language_map,
    "description": check_language_map,
    "contentType": _check_content_type,
    "length": _check_length,
    "sha2": _check_sha2,
    "fileUrl": check_irl,
}


def check_attachments(value: object, path: str, errs: list[str], v2: bool) -> None:
    # "attachments": ordered array of Attachment Objects.
    if not isinstance(value, list):
        errs.append(type_error(value, path, "an array of Attachment objects"))
        return
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        obj = as_object(item, item_path, errs)
        if obj is not None:
            walk(obj, item_path, errs, v2, _ATTACHMENT_PROPS)
            require(obj, item_path, errs, "usageType", "display", "contentType", "length", "sha2")


# --- Object (Data 2.4.4) and SubStatement --------------------------------------------


def _object_checker(object_type: object, in_sub_statement: bool) -> Checker | str:
    """The checker for an object's objectType, or the reason it is not allowed."""
    if object_type == "Activity":
        return check_activity
    if object_type == "Agent":
        return check_agent
    if object_type == "Group":
        return check_group
    if object_type == "StatementRef":
        return check_statement_ref
    if object_type == "SubStatement":
        if in_sub_statement:
            # Data 2.4.4.3: a SubStatement MUST NOT contain a SubStatement of its own.
            return "a SubStatement must not contain another SubStatement"
        return check_sub_statement
    return "must be one of Activity, Agent, Group, SubStatement, StatementRef"


def _check_object_in(value: object, path: str, errs: list[str], v2: bool, in_sub: bool) -> None:
    obj = as_object(value, path, errs)
    if obj is None:
        return
    # Data 2.4.4: objectType defaults to Activity; Agent, Group, SubStatement and
    # StatementRef objects MUST state it (Data 2.4.4.2, 2.4.4.3).
    if "objectType" not in obj:
        check_activity(obj, path, errs, v2)
        return
    checker = _object_checker(obj["objectType"], in_sub)
    if isinstance(checker, str):
        errs.append(f"{path}.objectType: {checker}")
    else:
        checker(obj, path, errs, v2)


def check_object(value: object, path: str, errs: list[str], v2: bool) -> None:
    _check_object_in(value, path, errs, v2, in_sub=False)


def _check_sub_object(value: object, path: str, errs: list[str], v2: bool) -> None:
    _check_object_in(value, path, errs, v2, in_sub=True)


def _not_in_sub_statement(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.4.3: a SubStatement MUST NOT have "id", "stored", "version" or "authority".
    errs.append(f"{path}: must not be used in a SubStatement")


def _object_is_activity(obj: dict[str, object]) -> bool:
    target = obj.get("object")
    return isinstance(target, dict) and target.get("objectType", "Activity") == "Activity"


def _check_context_needs_activity(obj: dict[str, object], path: str, errs: list[str]) -> None:
    # Data 2.4.6: "revision" and "platform" MUST only be used if the Object is an Activity.
    context = obj.get("context")
    if not isinstance(context, dict) or _object_is_activity(obj):
        return
    for key in ("revision", "platform"):
        if key in context:
            errs.append(f"{path}.context.{key}: only allowed when the object is an Activity")


_STATEMENT_PROPS: dict[str, Checker] = {
    "id": check_uuid,
    "actor": remembering_valid(check_actor),
    "verb": remembering_valid(check_verb),
    "object": remembering_valid(check_object),
    "result": remembering_valid(check_result),
    "context": check_context,
    "timestamp": check_timestamp,
    "stored": check_timestamp,
    "authority": check_authority,
    "version": check_version,
    "attachments": check_attachments,
}

_SUB_STATEMENT_PROPS: dict[str, Checker] = {
    **_STATEMENT_PROPS,
    "objectType": literal("SubStatement"),
    "object": _check_sub_object,
    "id": _not_in_sub_statement,
    "stored": _not_in_sub_statement,
    "version": _not_in_sub_statement,
    "authority": _not_in_sub_statement,
}


def check_sub_statement(value: object, path: str, errs: list[str], v2: bool) -> None:
    """A SubStatement is validated as a Statement, minus LRS-owned properties."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _SUB_STATEMENT_PROPS)
    require(obj, path, errs, "objectType", "actor", "verb", "object")
    _check_context_needs_activity(obj, path, errs)


def _check_voiding(obj: dict[str, object], path: str, errs: list[str]) -> None:
    # Data 2.3.2: a voiding Statement's Object MUST be a StatementRef (objectType set).
    verb = obj.get("verb")
    if not isinstance(verb, dict) or verb.get("id") != VOIDED_VERB:
        return
    target = obj.get("object")
    if isinstance(target, dict) and target.get("objectType") != "StatementRef":
        errs.append(f"{path}.object: a voiding statement's object must be a StatementRef")


def check_statement(value: object, path: str, errs: list[str], v2: bool) -> None:
    """A Statement (Data 2.4): actor, verb and object required; no unknown properties."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _STATEMENT_PROPS)
    require(obj, path, errs, "actor", "verb", "object")
    _check_context_needs_activity(obj, path, errs)
    _check_voiding(obj, path, errs)
