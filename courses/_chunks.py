"""IN (...) lists cut to a size under SQLite's and asyncpg's bound-parameter limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

CHUNK = 2000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def distinct_chunks(items: Iterable[str]) -> Iterator[Sequence[str]]:
    """Each value once, in a stable order (the same rows lock in the same order)."""
    return chunks(sorted(set(items)))
