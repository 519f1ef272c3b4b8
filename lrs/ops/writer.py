"""The writer process: it stores the statement batches that `lrs serve`'s workers parse.

A worker that stores its own batches runs the write turn's SQL in a thread that must win the
GIL back from the event loop after every row it steps, while the loop parses and validates
the next requests: the turn then takes two to three times as long as the same SQL alone, and
every write waits on it (bench/RESULTS.md). So `lrs serve` starts one writer process beside
its workers. Workers parse, validate and prepare each batch, then hand it over a Unix socket;
the writer groups the batches (lrs.ops._group_commit) and answers each once it is committed.

Frames are a 4-byte length and a pickle. Both ends are this program, and the socket lies in a
directory only its user can enter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lrs.config import Settings
from lrs.errors import ServiceUnavailable, XapiError
from lrs.ops._drafts import BatchRequest
from lrs.ops._group_commit import GroupCommitter, Stored
from lrs.ops.context import LrsContext
from lrs.runtime import run_event_loop, tune_garbage_collector
from lrs.store.sql import SqlStore
from lrs.supervisor import SupervisedProcess, stop_when_orphaned

log = logging.getLogger("lrs.writer")

_LENGTH = struct.Struct("!I")
# How long `lrs serve` waits for the writer to listen.
START_SECONDS = 60.0
# How long a worker waits for the writer to listen again (a restart takes a second or two)
# before it answers 503.
RECONNECT_SECONDS = 10.0
SEND_ATTEMPTS = 3

Reply = tuple[Any, ...]


async def _send(stream: asyncio.StreamWriter, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.writelines([_LENGTH.pack(len(data)), data])
    await stream.drain()


async def _receive(stream: asyncio.StreamReader) -> Any:
    (size,) = _LENGTH.unpack(await stream.readexactly(_LENGTH.size))
    return pickle.loads(await stream.readexactly(size))


# --- the writer's side --------------------------------------------------------------------


class WriterServer:
    """Answers each worker's batches with what the group commit made of them."""

    def __init__(self, ctx: LrsContext) -> None:
        self.committer = GroupCommitter(ctx)
        self._answers: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One worker's connection: batches in, replies out, in whatever order groups commit."""
        self._connections.add(writer)
        try:
            while True:
                request_id, request = await _receive(reader)
                task = asyncio.create_task(self._answer(writer, request_id, request))
                self._answers.add(task)
                task.add_done_callback(self._answers.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker closed its end
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, request_id: int, request: BatchRequest
    ) -> None:
        reply: Reply
        try:
            outcome = await self.committer.outcome_of(request)
        except Exception as error:
            log.exception("storing a batch failed")
            reply = ("failed", request_id, f"{type(error).__name__}: {error}")
        else:
            if isinstance(outcome, XapiError):
                reply = ("refused", request_id, outcome)
            else:
                new_ids = [d.id for d in outcome.new]
                reply = (
                    "stored",
                    request_id,
                    new_ids,
                    outcome.voided_ids,
                    outcome.stored_ms,
                    outcome.places,
                )
        # A worker gone meanwhile does not hear it; what it asked for is stored all the same.
        with contextlib.suppress(ConnectionError):
            await _send(writer, reply)

    async def finish(self) -> None:
        """Let every batch already handed over commit and be answered, then hang up."""
        while self._answers:
            await asyncio.gather(*self._answers, return_exceptions=True)
        for connection in list(self._connections):
            connection.close()


async def serve_writer(settings: Settings, path: str, stop: asyncio.Event) -> None:
    """Serve batches on the Unix socket `path` until `stop` is set, then finish them."""
    # No pre-ping: three round trips a group, in the turn that paces every write; a
    # connection the database dropped costs one retry instead (lrs.ops._group_commit).
    store = SqlStore(settings.database_url, pre_ping=False)
    server = WriterServer(LrsContext(store=store, settings=settings))
    listening = await asyncio.start_unix_server(server.handle, path)
    try:
        await stop.wait()
    finally:
        listening.close()
        await server.finish()
        await store.close()


async def _run_writer(settings: Settings, path: str, parent: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    watcher = asyncio.create_task(stop_when_orphaned(parent, stop))
    try:
        await serve_writer(settings, path, stop)
    finally:
        watcher.cancel()


def _writer_main(settings: Settings, path: str, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the workers finish their requests, which may
    # still need the writer; `lrs serve` stops it with SIGTERM once they are done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=settings.log_level.upper())
    tune_garbage_collector()
    run_event_loop(_run_writer(settings, path, parent))


@contextmanager
def writer_process(settings: Settings) -> Iterator[str]:
    """Run the writer process (restarted if it dies) while the block runs; yields the socket's
    path for the workers."""
    directory = tempfile.mkdtemp(prefix="lrs-writer-")
    path = os.path.join(directory, "writer.sock")

    def unlink_socket() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    # A dead writer is replaced; workers reconnect by themselves (RemoteCommitter) and send
    # its successor the batches it had not answered.
    writer = SupervisedProcess(
        "lrs-writer",
        _writer_main,
        (settings, path),
        ready=lambda process: _wait_until_listening(path, process),
        before_restart=unlink_socket,
    )
    try:
        yield path
    finally:
        writer.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_until_listening(path: str, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError("the writer process exited during start-up; see its log")
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError("the writer process did not start listening")


# --- the workers' side --------------------------------------------------------------------


class _ConnectionLost(Exception):
    """The writer hung up before answering a batch."""


class _Connection:
    """One connection to the writer and the batches sent on it that await their answer."""

    def __init__(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter) -> None:
        self.stream = stream
        self.pending: dict[int, asyncio.Future[Reply]] = {}
        self.replies = asyncio.create_task(self._read_replies(reader))

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                reply = await _receive(reader)
                future = self.pending.pop(reply[1], None)
                if future is not None and not future.done():
                    future.set_result(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            # The writer stopped: whatever it was storing may or may not be stored.
            self.stream.close()
            pending, self.pending = self.pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(_ConnectionLost())


class RemoteCommitter:
    """A worker's Committer: hands each batch to the writer process and waits for its answer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._ids = itertools.count()
        self._connection: _Connection | None = None
        self._connecting = asyncio.Lock()

    async def store(self, request: BatchRequest) -> Stored:
        # A writer that dies (killed, crashed) is replaced by `lrs serve`: a batch it had not
        # answered goes to its successor. Resending is safe whether or not it was stored: its
        # ids were given here, and storing the same statements again stores nothing and is no
        # conflict. A batch that fails SEND_ATTEMPTS times (it might be what kills the writer)
        # answers 503.
        for attempt in range(1, SEND_ATTEMPTS + 1):
            connection = await self._connected()
            request_id = next(self._ids)
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            connection.pending[request_id] = future
            try:
                await _send(connection.stream, (request_id, request))
                # A client that disconnects cancels its request, not the write it handed over.
                reply = await asyncio.shield(future)
            except (ConnectionError, _ConnectionLost) as error:
                connection.pending.pop(request_id, None)
                connection.stream.close()
                if attempt == SEND_ATTEMPTS:
                    raise _writer_gone() from error
                # A dying writer's socket may still take a connection: let it go first.
                await asyncio.sleep(0.2 * attempt)
                continue
            return _stored(request, reply)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.stream.close()
            await self._connection.replies

    async def _connected(self) -> _Connection:
        async with self._connecting:
            if self._connection is None or self._connection.stream.is_closing():
                self._connection = _Connection(*await self._connect())
            return self._connection

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect, waiting up to RECONNECT_SECONDS for a writer being restarted."""
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                return await asyncio.open_unix_connection(self.path)
            except OSError as error:
                if time.monotonic() >= deadline:
                    raise _writer_gone() from error
            await asyncio.sleep(0.1)


def _writer_gone() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the LRS's writer process stopped; the batch may not be stored: send it again"
    )


def _stored(request: BatchRequest, reply: Reply) -> Stored:
    kind = reply[0]
    if kind == "refused":
        raise reply[2]
    if kind != "stored":
        raise RuntimeError(f"the writer process failed to store a batch: {reply[2]}")
    _, _, new_ids, voided_ids, stored_ms, places = reply
    by_id = {d.id: d for d in request.drafts}
    return Stored([by_id[i] for i in new_ids], voided_ids, stored_ms, places)
