"""Process settings for the long-running server processes (workers and the writer)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Allocations between two young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Make the cyclic garbage collector cheap for a server that parses JSON all day.

    Statements are trees of dicts and lists that reference counting frees as soon as a request
    ends; the cyclic collector finds nothing in them, yet each of its passes walks them, and
    its full passes walk every module, route and table of the application too. Parsing a
    100-statement batch allocates thousands of containers, so with the default thresholds
    collection took a fifth of the time spent parsing (bench/RESULTS.md). So: move what start-up
    made out of the collector's sight, and collect young objects far less often.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop where it is installed, as uvicorn runs the workers.

    A server process spends much of its time in the event loop itself (socket reads and writes,
    callbacks): uvloop's loop, written in C, takes a fraction of asyncio's.
    """
    try:
        import uvloop
    except ImportError:  # not built for this platform
        return asyncio.run(main)
    return uvloop.run(main)
