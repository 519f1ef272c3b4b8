"""Activity and Activity Definition checks, including interaction activities (xAPI Data 2.4.4.1)."""

from __future__ import annotations

import orjson

from lrs.xapi._validate_agents import literal
from lrs.xapi._validate_formats import (
    Checker,
    as_object,
    check_extensions,
    check_iri,
    check_irl,
    check_language_map,
    check_string,
    require,
    type_error,
    walk,
)

# Data 2.4.4.1 "Interaction Types": the only valid interactionType values.
_INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)

# Properties that only make sense on an interaction activity (Data 2.4.4.1,
# conformance XAPI-00064: rejected when "interactionType" is absent).
_INTERACTION_ONLY = ("correctResponsesPattern", "choices", "scale", "source", "target", "steps")


def _check_interaction_type(value: object, path: str, errs: list[str], v2: bool) -> None:
    # "Interaction Activities MUST have a valid interactionType" (case-sensitive enum).
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif value not in _INTERACTION_TYPES:
        errs.append(f"{path}: must be one of {', '.join(sorted(_INTERACTION_TYPES))}")


def _check_response_patterns(value: object, path: str, errs: list[str], v2: bool) -> None:
    # correctResponsesPattern: "Array of Strings" (an empty array means "no correct answer").
    if not isinstance(value, list):
        errs.append(type_error(value, path, "an array of strings"))
        return
    for index, pattern in enumerate(value):
        if not isinstance(pattern, str):
            errs.append(type_error(pattern, f"{path}[{index}]", "a string"))


_COMPONENT_PROPS: dict[str, Checker] = {"id": check_string, "description": check_language_map}


def _check_components(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Interaction components: {id: String (required), description: Language Map};
    # "Within an array of interaction components, all id values MUST be distinct."
    if not isinstance(value, list):
        errs.append(type_error(value, path, "an array of interaction components"))
        return
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        component = as_object(item, item_path, errs)
        if component is None:
            continue
        walk(component, item_path, errs, v2, _COMPONENT_PROPS)
        require(component, item_path, errs, "id")
        component_id = component.get("id")
        if isinstance(component_id, str):
            if component_id in seen:
                errs.append(f"{item_path}.id: '{component_id}' is not distinct within {path}")
            seen.add(component_id)


_DEFINITION_PROPS: dict[str, Checker] = {
    "name": check_language_map,
    "description": check_language_map,
    "type": check_iri,
    "moreInfo": check_irl,
    "interactionType": _check_interaction_type,
    "correctResponsesPattern": _check_response_patterns,
    "choices": _check_components,
    "scale": _check_components,
    "source": _check_components,
    "target": _check_components,
    "steps": _check_components,
    "extensions": check_extensions,
}


# Definitions already found valid, as JSON text: a batch repeats the same course and module
# definitions in every statement, and serialising one is cheaper than walking it again.
_VALID_DEFINITIONS: set[tuple[bytes, bool]] = set()
_VALID_DEFINITIONS_LIMIT = 4096


def check_definition(value: object, path: str, errs: list[str], v2: bool) -> None:
    """Activity Definition: language maps, type IRI, moreInfo IRL, interaction properties."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    try:
        seen = (orjson.dumps(obj), v2)
    except orjson.JSONEncodeError:
        seen = None  # too deep to serialise: walk it, and let storing it refuse it
    if seen is not None and seen in _VALID_DEFINITIONS:
        return
    errors_before = len(errs)
    walk(obj, path, errs, v2, _DEFINITION_PROPS)
    if "interactionType" not in obj:
        for key in _INTERACTION_ONLY:
            if key in obj:
                errs.append(f"{path}.{key}: requires 'interactionType'")
    if seen is not None and len(errs) == errors_before:
        if len(_VALID_DEFINITIONS) >= _VALID_DEFINITIONS_LIMIT:
            _VALID_DEFINITIONS.clear()
        _VALID_DEFINITIONS.add(seen)


_ACTIVITY_PROPS: dict[str, Checker] = {
    "objectType": literal("Activity"),
    "id": check_iri,
    "definition": check_definition,
}


def check_activity(value: object, path: str, errs: list[str], v2: bool) -> None:
    """An Activity: objectType optional but "Activity" when present, id IRI required."""
    obj = as_object(value, path, errs)
    if obj is None:
        return
    walk(obj, path, errs, v2, _ACTIVITY_PROPS)
    require(obj, path, errs, "id")


def check_activity_or_list(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.6.2: each contextActivities value is one Activity or an array of them
    # (single objects are kept for 0.95 compatibility).
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_activity(item, f"{path}[{index}]", errs, v2)
    elif isinstance(value, dict):
        check_activity(value, path, errs, v2)
    else:
        errs.append(type_error(value, path, "an Activity or an array of Activities"))
