"""JSON in and out, with every failure a 400 that says what is wrong."""

from __future__ import annotations

from typing import Any

import orjson

from lrs.errors import BadRequest


def loads(body: bytes | str, what: str = "request body") -> Any:
    """Parse JSON; malformed JSON, bad UTF-8 and nesting past 1,024 levels are a 400."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"{what} is not valid JSON: {error}") from None


def dumps(value: Any, what: str = "document") -> bytes:
    """Serialise JSON; a value nested past what can be written back (254 levels) is a 400."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise BadRequest(f"{what} cannot be stored: {error}") from None
