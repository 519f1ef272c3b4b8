"""lrs.runtime.give_way: background work in a server process lets requests go first."""

from __future__ import annotations

import asyncio
import time

from lrs import runtime


async def _busy_requests(slices: int, done: list[int]) -> None:
    """Stand-in for request handling: CPU in slices of 2 ms, a turn of the loop between."""
    for number in range(slices):
        time.sleep(0.002)  # parsing and validating: the loop is held
        done.append(number)
        await asyncio.sleep(0)


async def test_background_work_waits_while_requests_keep_the_loop_busy() -> None:
    done: list[int] = []
    requests = asyncio.create_task(_busy_requests(5, done))
    await asyncio.sleep(0)  # the requests start
    await runtime.give_way()
    # Yielding one turn would have let one slice run; giving way waited for all of them.
    assert len(done) == 5
    await requests


async def test_background_work_is_slowed_never_starved() -> None:
    done: list[int] = []
    requests = asyncio.create_task(_busy_requests(1000, done))
    await asyncio.sleep(0)
    started = time.perf_counter()
    await runtime.give_way()
    waited = time.perf_counter() - started
    requests.cancel()
    assert waited < runtime.GIVE_WAY_MAX_SECONDS + 0.05
    assert len(done) < 1000
