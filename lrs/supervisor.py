"""Helper processes of `lrs serve` (the writer, plugins' background work), restarted if they die.

A helper can die under the server (the OOM killer, a crash); a thread of `lrs serve` starts
another. One that keeps dying at start waits longer each time, so a helper that cannot start
(its database gone) is not spawned in a loop. Helpers stop by themselves when the server that
started them is killed (SIGKILL runs no shutdown code): its successor starts helpers of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("lrs.supervisor")

# How often a helper checks that the server which started it is still there.
ORPHAN_CHECK_SECONDS = 0.5
# A helper that dies this soon after starting waits before the next start, twice as long each
# time up to the maximum.
CRASH_LOOP_SECONDS = 10.0
RESTART_DELAY_MAX_SECONDS = 30.0
STOP_SECONDS = 60.0

Process = multiprocessing.process.BaseProcess


async def stop_when_orphaned(parent: int, stop: asyncio.Event) -> None:
    """Set `stop` once the process `parent` (the server that started this helper) is gone."""
    while os.getppid() == parent:
        await asyncio.sleep(ORPHAN_CHECK_SECONDS)
    stop.set()


def _helper_main(name: str, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    # Named as `ps -o comm`, top and the tests show it (Linux; elsewhere it keeps python's).
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])
    target(*args)


class SupervisedProcess:
    """A helper process, started again whenever it exits while the server runs.

    `target(*args, parent_pid)` is its main function; `ready(process)` waits until a new one
    can serve (raising RuntimeError if it cannot); `before_restart()` clears what a dead one
    left (a socket file). Restarts are made from a thread of this process: look for the
    helper among every thread's children.
    """

    def __init__(
        self,
        name: str,
        target: Callable[..., None],
        args: tuple[Any, ...],
        ready: Callable[[Process], None] = lambda process: None,
        before_restart: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = name
        self.target = target
        self.args = args
        self.ready = ready
        self.before_restart = before_restart
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # held while a helper is started, so stop() sees it
        self.process = self._spawn()
        ready(self.process)
        self._watcher = threading.Thread(target=self._watch, name=f"{name}-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> Process:
        process = multiprocessing.get_context("spawn").Process(
            target=_helper_main,
            args=(self.name, self.target, (*self.args, os.getpid())),
            name=self.name,
            daemon=True,
        )
        process.start()
        return process

    def _watch(self) -> None:
        delay = 0.0
        started = time.monotonic()
        while not self._stopping.is_set():
            self.process.join(ORPHAN_CHECK_SECONDS)
            if self.process.is_alive() or self._stopping.is_set():
                continue
            log.error(
                "the %s process exited (code %s); starting another",
                self.name,
                self.process.exitcode,
            )
            lived = time.monotonic() - started
            delay = (
                min(max(1.0, 2 * delay), RESTART_DELAY_MAX_SECONDS)
                if lived < CRASH_LOOP_SECONDS
                else 0.0
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.before_restart()
                self.process = self._spawn()
                started = time.monotonic()
            try:
                self.ready(self.process)
            except RuntimeError:
                log.exception("the new %s process did not start", self.name)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self.process
        process.terminate()
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
        self._watcher.join(STOP_SECONDS)
