"""Canonical activity definitions, merged from the statements that define them (Data 2.4.4.1)."""

from __future__ import annotations

from typing import Any

from lrs.types import Statement
from lrs.xapi.index import statement_activities

LANGUAGE_MAPS = ("name", "description")


def merge_definition(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """Newer values win; language maps gain the languages they did not have."""
    merged = dict(current)
    for key, value in incoming.items():
        if key in LANGUAGE_MAPS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def definitions_in(statements: list[Statement]) -> dict[str, dict[str, Any]]:
    """Each activity id's definition as this batch gives it, later statements winning."""
    found: dict[str, dict[str, Any]] = {}
    for statement in statements:
        for activity in statement_activities(statement):
            definition = activity.get("definition")
            if isinstance(definition, dict) and definition:
                _merge_into(found, activity["id"], definition)
    return found


def merged_definitions(
    definitions: list[dict[str, dict[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Several batches' definitions_in as one, later batches winning (merging is associative)."""
    if len(definitions) == 1:
        return definitions[0]
    found: dict[str, dict[str, Any]] = {}
    for given in definitions:
        for activity_id, definition in given.items():
            _merge_into(found, activity_id, definition)
    return found


def _merge_into(
    found: dict[str, dict[str, Any]], activity_id: str, definition: dict[str, Any]
) -> None:
    """Merge a later definition of the activity into `found` (kept as is when it repeats one:
    most batches give their course's definitions statement after statement)."""
    current = found.get(activity_id)
    if current is None or current == definition:
        found[activity_id] = definition
    else:
        found[activity_id] = merge_definition(current, definition)


def updated_definitions(
    stored: dict[str, dict[str, Any]], incoming: dict[str, dict[str, Any]], may_redefine: bool
) -> dict[str, dict[str, Any]]:
    """Definitions to write: new activities always, changes only from credentials that define."""
    changed: dict[str, dict[str, Any]] = {}
    for activity_id, definition in incoming.items():
        current = stored.get(activity_id)
        if current is None:
            changed[activity_id] = definition
        elif may_redefine:
            merged = merge_definition(current, definition)
            if merged != current:
                changed[activity_id] = merged
    return changed
