"""Shared type aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = Any
JSONObject = dict[str, Any]
Statement = dict[str, Any]
Scope = str


@dataclass(frozen=True)
class FeedEntry:
    """A statement as stored, with its place in storage order and whether it is voided."""

    seq: int
    statement: Statement
    voided: bool
