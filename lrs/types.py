"""Shared type aliases."""

from __future__ import annotations

from typing import Any

JSON = Any
JSONObject = dict[str, Any]
Statement = dict[str, Any]
Scope = str
