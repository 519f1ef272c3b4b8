"""Agent, Group and Account checks (xAPI Data 2.4.2) for actor, object, context and authority."""

from __future__ import annotations

from lrs.xapi._validate_formats import (
    Checker,
    as_object,
    check_identifier_string,
    check_iri,
    check_irl,
    check_mbox,
    check_sha1,
    check_string,
    require,
    type_error,
    walk,
)

_IFI_NAMES = "mbox, mbox_sha1sum, openid or account"


def literal(expected: str) -> Checker:
    """A checker for a property whose only allowed value is `expected`.

    Data 2.2: enumerated values (such as "objectType") must match exactly, case included.
    """

    def check(value: object, path: str, errs: list[str], v2: bool) -> None:
        if value is None:
            errs.append(f"{path}: must not be null")
        elif value != expected:
            errs.append(f"{path}: must be '{expected}'")

    return check


def check_account(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.2.4: homePage (IRL) and name (string) are both required.
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _ACCOUNT_PROPS)
    require(obj, path, errs, "homePage", "name")


_ACCOUNT_PROPS: dict[str, Checker] = {"homePage": check_irl, "name": check_identifier_string}

_AGENT_PROPS: dict[str, Checker] = {
    "objectType": literal("Agent"),
    "name": check_string,
    "mbox": check_mbox,
    "mbox_sha1sum": check_sha1,
    "openid": check_iri,
    "account": check_account,
}


def _ifi_count(obj: dict[str, object]) -> int:
    # Data 2.4.2.3: the four Inverse Functional Identifier properties.
    return ("mbox" in obj) + ("mbox_sha1sum" in obj) + ("openid" in obj) + ("account" in obj)


def _too_many_ifis(obj: dict[str, object], path: str) -> str:
    present = ", ".join(key for key in ("mbox", "mbox_sha1sum", "openid", "account") if key in obj)
    return f"{path}: must not have more than one inverse functional identifier (has {present})"


def check_agent(value: object, path: str, errs: list[str], v2: bool) -> None:
    """An Agent: optional objectType "Agent", optional name, exactly one IFI (Data 2.4.2.1)."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _AGENT_PROPS)
    count = _ifi_count(obj)
    if count == 0:
        errs.append(f"{path}: must have exactly one inverse functional identifier ({_IFI_NAMES})")
    elif count > 1:
        errs.append(_too_many_ifis(obj, path))


def _check_member(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.2.2: neither kind of Group may contain Group Objects in "member".
    if isinstance(value, dict) and value.get("objectType") == "Group":
        errs.append(f"{path}: must be an Agent (a Group cannot contain Groups)")
        return
    check_agent(value, path, errs, v2)


def _check_members(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, list):
        errs.append(type_error(value, path, "an array of Agents"))
        return
    for index, member in enumerate(value):
        _check_member(member, f"{path}[{index}]", errs, v2)


_GROUP_PROPS: dict[str, Checker] = {
    **_AGENT_PROPS,
    "objectType": literal("Group"),
    "member": _check_members,
}


def check_group(value: object, path: str, errs: list[str], v2: bool) -> None:
    """A Group: objectType "Group" required; anonymous needs members, identified one IFI."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _GROUP_PROPS)
    require(obj, path, errs, "objectType")
    count = _ifi_count(obj)
    if count > 1:
        # Data 2.4.2.2: an Identified Group MUST include exactly one IFI.
        errs.append(_too_many_ifis(obj, path))
    elif count == 0:
        # Data 2.4.2.2: an Anonymous Group MUST include a "member" list of its Agents.
        members = obj.get("member")
        if "member" not in obj:
            errs.append(f"{path}.member: is required for an anonymous Group (no {_IFI_NAMES})")
        elif isinstance(members, list) and not members:
            errs.append(f"{path}.member: an anonymous Group must list at least one Agent")


def check_actor(value: object, path: str, errs: list[str], v2: bool) -> None:
    """An Agent or a Group, chosen by objectType (absent means Agent) (Data 2.4.2)."""
    if isinstance(value, dict) and "objectType" in value:
        object_type = value["objectType"]
        if object_type == "Group":
            check_group(value, path, errs, v2)
            return
        if object_type != "Agent":
            errs.append(f"{path}.objectType: must be 'Agent' or 'Group'")
            return
    check_agent(value, path, errs, v2)


def check_team(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.6: context "team" is a Group (so it must say objectType "Group").
    if isinstance(value, dict) and value.get("objectType") != "Group":
        errs.append(f"{path}.objectType: must be 'Group' (a team is a Group)")
        return
    check_group(value, path, errs, v2)


def check_authority(value: object, path: str, errs: list[str], v2: bool) -> None:
    """Data 2.4.9: an Agent, or (3-legged OAuth) an anonymous Group of exactly two Agents."""
    check_actor(value, path, errs, v2)
    if not isinstance(value, dict) or value.get("objectType") != "Group":
        return
    if _ifi_count(value):
        errs.append(f"{path}: a Group authority must be an anonymous Group (no {_IFI_NAMES})")
    members = value.get("member")
    if isinstance(members, list) and len(members) != 2:
        errs.append(f"{path}.member: a Group authority must have exactly two Agents")
