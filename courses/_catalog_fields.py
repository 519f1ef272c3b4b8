"""Field checks for catalogue files: each problem is kept as `FILE: FIELD: PROBLEM`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from courses.catalog import LANGUAGES

RELATIVE_IRI = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")


class Problems:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.file = ""

    def add(self, where: str, problem: str) -> None:
        self.errors.append(
            f"{self.file}: {where}: {problem}" if where else f"{self.file}: {problem}"
        )


def unknown_fields(raw: dict[str, Any], known: set[str], where: str, problems: Problems) -> None:
    for name in sorted(set(raw) - known):
        path = f"{where}.{name}" if where else name
        problems.add(path, f"unknown field (known: {', '.join(sorted(known))})")


def absolute_iri(value: str) -> bool:
    if any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_iri(value: Any, base_iri: str, where: str, problems: Problems) -> str | None:
    """An absolute http(s) IRI as is, or a relative path resolved under the base IRI."""
    if isinstance(value, str) and absolute_iri(value):
        return value
    if isinstance(value, str) and "://" not in value and RELATIVE_IRI.match(value):
        return f"{base_iri}/{value}"
    problems.add(where, f"bad IRI {value!r}: use an absolute http(s) IRI or a relative path")
    return None


def texts(raw: Any, where: str, problems: Problems) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.add(where, f"must be a table with {' and '.join(LANGUAGES)} texts")
        return {}
    for language in LANGUAGES:
        if not isinstance(raw.get(language), str) or not raw[language].strip():
            problems.add(f"{where}.{language}", "missing (French and English are both required)")
    unknown_fields(raw, set(LANGUAGES), where, problems)
    return {k: v.strip() for k, v in raw.items() if k in LANGUAGES and isinstance(v, str)}


def string_list(raw: Any, where: str, problems: Problems) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems.add(where, "must be a list of strings")
        return []
    return list(raw)


def whole_number(
    raw: Any, where: str, problems: Problems, default: int | None, minimum: int
) -> int | None:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        problems.add(where, f"must be a whole number of at least {minimum}")
        return default
    return raw
