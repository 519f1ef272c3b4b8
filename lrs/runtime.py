"""Process settings for the long-running server processes (workers and the writer)."""

from __future__ import annotations

import asyncio
import gc
import time
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


# A turn of the event loop longer than this means other work was waiting (give_way).
BUSY_TURN_SECONDS = 0.001
GIVE_WAY_PAUSE_SECONDS = 0.002
# The longest a background task waits for the loop to be free before it goes on anyway.
GIVE_WAY_MAX_SECONDS = 0.05


async def give_way() -> None:
    """Let the event loop's other work go first: background work calls this between slices.

    It yields a turn; while that turn shows others keep the loop busy, it waits a little more,
    up to GIVE_WAY_MAX_SECONDS (so it is slowed, never starved). A server process's requests
    then keep their pace and its background work (the courses aggregator) takes the loop's
    idle time: yielding one turn alone let it take every other turn from requests, which then
    kept the writer process waiting (bench/RESULTS.md, fifth session).
    """
    deadline = time.perf_counter() + GIVE_WAY_MAX_SECONDS
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0)
        now = time.perf_counter()
        if now - started < BUSY_TURN_SECONDS or now >= deadline:
            return
        await asyncio.sleep(GIVE_WAY_PAUSE_SECONDS)
