"""The plugins' IN (...) lists: each value once, cut under the drivers' parameter limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from lrs.store.chunking import chunks

CHUNK = 2000


def distinct_chunks(items: Iterable[str]) -> Iterator[Sequence[str]]:
    """Each value once, in a stable order (the same rows lock in the same order)."""
    return chunks(sorted(set(items)), CHUNK)
