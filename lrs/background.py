"""Plugins' background work (the courses aggregator), run once by `lrs serve` at low CPU priority.

Run inside each worker, such work shares the worker's event loop (and GIL) with requests: it
either delays them, which keeps the writer process waiting for batches, or gives way and
falls behind, finishing after ingestion on one core while the other idles. `lrs serve` runs
it instead in one process of its own, niced, beside the workers and the writer: the
operating system's scheduler then gives it the CPU they leave idle, whatever the number of
workers (bench/RESULTS.md, sixth session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from lrs.config import Settings
from lrs.ops.context import LrsContext
from lrs.plugins import BackgroundWork, installed_plugins
from lrs.runtime import run_event_loop, tune_garbage_collector
from lrs.store.sql import SqlStore
from lrs.supervisor import SupervisedProcess, stop_when_orphaned

# Niceness of the background process: it gets the CPU the server's other processes leave.
NICENESS = 19


def background_work(settings: Settings) -> list[BackgroundWork]:
    """The background work of the plugins the server runs."""
    return [w for p in installed_plugins(settings.plugins) if (w := p.background()) is not None]


async def _run_background(settings: Settings, parent: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    watcher = asyncio.create_task(stop_when_orphaned(parent, stop))
    store = SqlStore(settings.database_url)
    ctx = LrsContext(store=store, settings=settings)
    works = [asyncio.create_task(work(ctx)) for work in background_work(settings)]
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([stopping, *works], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopping}:
            task.result()  # background work is meant to run until stopped: raise what ended it
            raise RuntimeError("a plugin's background work ended by itself")
    finally:
        for task in (watcher, stopping, *works):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*works, return_exceptions=True)
        await store.close()


def _background_main(settings: Settings, parent: int) -> None:
    # Ctrl-C reaches the whole process group; `lrs serve` stops this one with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    logging.basicConfig(level=settings.log_level.upper())
    tune_garbage_collector()
    run_event_loop(_run_background(settings, parent))


@contextmanager
def background_process(settings: Settings) -> Iterator[bool]:
    """Run the plugins' background work in one process (restarted if it dies) while the block
    runs; yields whether there is any (none: no process is started)."""
    if not background_work(settings):
        yield False
        return
    process = SupervisedProcess("lrs-background", _background_main, (settings,))
    try:
        yield True
    finally:
        process.stop()
