"""The writer process's protocol: workers hand batches over a Unix socket and hear the outcome.

The writer runs in the test's event loop (a real socket, a real store), except in the last
tests, which check the process `lrs serve` starts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest

from lrs.errors import BadRequest, Conflict, ServiceUnavailable
from lrs.ops import writer as writer_module
from lrs.ops.activities import get_activity
from lrs.ops.context import LrsContext
from lrs.ops.get_statements import Reader, find_statements
from lrs.ops.save_statements import save_statements
from lrs.ops.writer import serve_writer
from lrs.store.sql import SqlStore
from lrs.types import FeedEntry, Statement
from lrs.xapi.query import parse_query
from tests.conftest import statement
from tests.lrs.lrs_process import HEADERS, helper_pids, prepare_database, start_lrs
from tests.lrs.ops.test_save_statements import VOIDED, stored_ids, writer


@pytest.fixture
def socket_path() -> Iterator[str]:
    # Unix socket paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="lrs-w-")
    yield str(Path(directory) / "writer.sock")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def running_writer(lrs: LrsContext, socket_path: str) -> AsyncIterator[asyncio.Event]:
    """A writer serving on `socket_path`; set the event to stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve_writer(lrs.settings, socket_path, stop))
    while not Path(socket_path).exists():
        await asyncio.sleep(0.01)
    yield stop
    stop.set()
    await task


class Heard:
    """A listener, as the courses plugin is one: what each worker was told it stored."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.voided: list[str] = []

    async def statements_stored(self, entries: list[FeedEntry], voided_ids: list[str]) -> None:
        self.statements += [e.statement for e in entries]
        self.voided += voided_ids


@pytest.fixture
async def workers(
    lrs: LrsContext, socket_path: str, running_writer: asyncio.Event
) -> AsyncIterator[list[LrsContext]]:
    """Two worker contexts that store through the writer, each with a listener."""
    settings = replace(lrs.settings, writer_socket=socket_path)
    contexts = []
    for _ in range(2):
        ctx = LrsContext(store=SqlStore(settings.database_url), settings=settings)
        ctx.listeners.append(Heard())
        contexts.append(ctx)
    yield contexts
    for ctx in contexts:
        if ctx.committer is not None:
            await ctx.committer.close()
        await ctx.store.close()


def heard(ctx: LrsContext) -> Heard:
    listener = ctx.listeners[0]
    assert isinstance(listener, Heard)
    return listener


async def test_batches_from_two_workers_are_stored_and_their_listeners_told(
    lrs: LrsContext, workers: list[LrsContext]
) -> None:
    batches = [[statement(id=str(uuid.uuid4())) for _ in range(30)] for _ in range(6)]
    results = await asyncio.gather(
        *(save_statements(workers[n % 2], b, writer(), "1.0.3") for n, b in enumerate(batches))
    )
    assert results == [[s["id"] for s in batch] for batch in batches]
    assert await stored_ids(lrs) == {s["id"] for batch in batches for s in batch}
    told = heard(workers[0]).statements + heard(workers[1]).statements
    assert sorted(s["id"] for s in told) == sorted(s["id"] for b in batches for s in b)
    # Listeners get the statements as stored: `stored` and `authority` set by the LRS.
    assert all("stored" in s and "authority" in s for s in told)


async def test_a_refusal_reaches_the_worker_whole(workers: list[LrsContext]) -> None:
    taken = str(uuid.uuid4())
    await save_statements(workers[0], [statement(id=taken)], writer(), "1.0.3")
    with pytest.raises(Conflict, match=f"statement {taken} already exists"):
        await save_statements(
            workers[1], [statement(id=taken, verb={"id": VOIDED})], writer(), "1.0.3"
        )
    voiding = statement(
        id=str(uuid.uuid4()),
        verb={"id": VOIDED, "display": {"en": "voided"}},
        object={"objectType": "StatementRef", "id": taken},
    )
    await save_statements(workers[0], [voiding], writer(), "1.0.3")
    assert heard(workers[0]).voided == [taken]
    undo = {
        **voiding,
        "id": str(uuid.uuid4()),
        "object": {**voiding["object"], "id": voiding["id"]},
    }
    with pytest.raises(BadRequest, match="a voiding statement cannot be voided") as refused:
        await save_statements(workers[1], [undo], writer(), "1.0.3")
    assert refused.value.status == 400


async def test_what_resends_refs_and_definitions_need_crosses_to_the_writer(
    lrs: LrsContext, workers: list[LrsContext]
) -> None:
    # The writer gets each statement as JSON and a few facts (lrs.ops._drafts.Draft): a resend
    # is still compared as sent, a StatementRef still inherits its target's keys, and the
    # activity definitions still reach the activity table.
    course = "https://moodle.example.org/course/view.php?id=7"
    defined = {"id": course, "definition": {"name": {"fr": "Gestion des frontières"}}}
    first = statement(id=str(uuid.uuid4()), object=defined)
    assert "timestamp" not in first  # the LRS fills it: the resend must still match
    await save_statements(workers[0], [first], writer(), "1.0.3")
    assert await save_statements(workers[1], [first], writer(), "2.0.0") == [first["id"]]
    assert heard(workers[1]).statements == []  # nothing new was stored
    ref = statement(
        id=str(uuid.uuid4()), object={"objectType": "StatementRef", "id": first["id"].upper()}
    )
    await save_statements(workers[1], [ref], writer(), "1.0.3")
    by_course = parse_query({"activity": course}, "1.0.3", 100, 100)
    page = await find_statements(lrs, by_course, Reader("key-moodle", only_mine=False), [])
    found = {orjson.loads(body)["id"] for body in page.statements_json}
    assert found == {first["id"], ref["id"]}
    assert (await get_activity(lrs, course))["definition"] == defined["definition"]


async def test_statements_without_ids_are_found_by_every_filter_through_the_writer(
    lrs: LrsContext, workers: list[LrsContext]
) -> None:
    # On PostgreSQL, a statement the LRS names crosses with its index rows already encoded
    # and without its keys (lrs.store.pg_copy): each filter must still find it.
    registration = str(uuid.uuid4())
    course = "https://moodle.example.org/course/view.php?id=9"
    sent = statement(
        context={"registration": registration, "contextActivities": {"grouping": [{"id": course}]}}
    )
    other = statement(
        actor={"mbox": "mailto:kofi@example.org"},
        verb={"id": "http://adlnet.gov/expapi/verbs/attempted"},
        object={"id": "https://acbc.iom.int/courses/ibm-102"},
    )
    ids = await save_statements(workers[0], [sent, other], writer(), "1.0.3")
    filters = {
        "agent": orjson.dumps(sent["actor"]).decode(),
        "verb": sent["verb"]["id"],
        "activity": sent["object"]["id"],
        "registration": registration.upper(),
    }
    for name, value in filters.items():
        query = parse_query({name: value}, "1.0.3", 100, 100)
        page = await find_statements(lrs, query, Reader("key-moodle", only_mine=False), [])
        assert [orjson.loads(b)["id"] for b in page.statements_json] == [ids[0]], name
    related = parse_query({"activity": course, "related_activities": "true"}, "1.0.3", 100, 100)
    page = await find_statements(lrs, related, Reader("key-moodle", only_mine=False), [])
    assert [orjson.loads(b)["id"] for b in page.statements_json] == [ids[0]]


async def test_a_connection_the_database_dropped_costs_no_batch(
    lrs: LrsContext, workers: list[LrsContext]
) -> None:
    # The writer does not test a pooled connection before each write (three round trips):
    # one that PostgreSQL closed meanwhile (a restart, an idle timeout) fails its write, and
    # the write is made again on a fresh one.
    if lrs.store.sqlite:
        pytest.skip("SQLite has no server to drop connections")
    first = await save_statements(workers[0], [statement()], writer(), "1.0.3")
    async with lrs.store.read() as tx:
        await tx.conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    second = await save_statements(workers[1], [statement()], writer(), "1.0.3")
    assert await stored_ids(lrs) == {*first, *second}


async def test_a_worker_whose_writer_stopped_answers_503(
    workers: list[LrsContext], running_writer: asyncio.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "RECONNECT_SECONDS", 0.3)  # no writer comes back here
    await save_statements(workers[0], [statement()], writer(), "1.0.3")
    running_writer.set()
    await asyncio.sleep(0.1)
    with pytest.raises(ServiceUnavailable, match="send it again") as gone:
        await save_statements(workers[0], [statement()], writer(), "1.0.3")
    assert gone.value.status == 503


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _writers(server_pid: int) -> list[int]:
    return helper_pids(server_pid, "lrs-writer")


async def test_a_killed_writer_is_replaced_and_posts_go_on(tmp_path: Path) -> None:
    """The OOM killer takes the writer process alone: `lrs serve` starts another, and its
    workers store through it, without a restart of the server."""
    database_url = f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"
    credential = await prepare_database(database_url)
    server = start_lrs(database_url, tmp_path / "serve.log")
    try:
        async with httpx.AsyncClient(
            base_url=server.url, auth=credential.auth, headers=HEADERS, timeout=30
        ) as http:
            before = await http.post("/statements", json=statement())
            assert before.status_code == 200
            (killed,) = _writers(server.process.pid)
            os.kill(killed, signal.SIGKILL)
            # The worker sends it to the new writer rather than answering 503.
            after = await http.post("/statements", json=statement())
            assert after.status_code == 200, after.text
            assert _writers(server.process.pid) not in ([], [killed])
            for (statement_id,) in (before.json(), after.json()):
                found = await http.get("/statements", params={"statementId": statement_id})
                assert found.status_code == 200 and found.json()["id"] == statement_id
    finally:
        server.stop()


async def test_a_killed_server_leaves_no_writer_behind(tmp_path: Path) -> None:
    """SIGKILL to `lrs serve` alone (its group spared): the orphaned writer exits by itself."""
    database_url = f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"
    await prepare_database(database_url)
    server = start_lrs(database_url, tmp_path / "serve.log")
    try:
        writers = _writers(server.process.pid)
        assert writers, "lrs serve runs a writer process"
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in writers) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(_alive(p) for p in writers)
    finally:
        server.stop()
