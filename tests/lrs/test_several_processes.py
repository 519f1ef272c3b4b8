"""Several `lrs serve` processes on one database: ids, paging and Consistent-Through stay right.

PostgreSQL: two servers, one with two workers (three processes). SQLite: one server, two workers.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Credential
from tests.lrs.lrs_process import (
    HEADERS,
    LrsProcess,
    all_statements,
    launch_lrs,
    prepare_database,
    wait_until_ready,
)

WRITERS = 6
BATCHES = 8
BATCH = 25
PAGE = 20
DEADLINE_SECONDS = 60


def _ms(instant: str) -> int:
    return int(datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class Run:
    urls: list[str]
    writing: bool = True
    posted: list[str] = field(default_factory=list)
    # (Consistent-Through in ms, ids a GET with until=that instant found right after).
    snapshots: list[tuple[int, set[str]]] = field(default_factory=list)
    paged_ascending: list[str] = field(default_factory=list)


@contextmanager
def _servers(database_url: str, log: Path) -> Iterator[list[LrsProcess]]:
    layout = [2] if database_url.startswith("sqlite") else [1, 2]
    servers = [launch_lrs(database_url, log, workers) for workers in layout]
    try:
        for server in servers:
            wait_until_ready(server)
        yield servers
    finally:
        for server in servers:
            server.stop()


def _batch(writer: int, number: int) -> list[dict[str, Any]]:
    """Half the statements carry the client's id, half get one from the LRS."""
    return [
        {
            **({"id": str(uuid.uuid4())} if n % 2 else {}),
            "actor": {"objectType": "Agent", "mbox": f"mailto:learner{writer}@example.org"},
            "verb": {
                "id": "http://adlnet.gov/expapi/verbs/experienced",
                "display": {"en": "experienced"},
            },
            "object": {
                "objectType": "Activity",
                "id": f"https://acbc.iom.int/modules/{number}-{n}",
            },
        }
        for n in range(BATCH)
    ]


async def _write(http: httpx.AsyncClient, run: Run, writer: int) -> None:
    for number in range(BATCHES):
        url = run.urls[(writer + number) % len(run.urls)]
        statements = _batch(writer, number)
        response = await http.post(url + "/statements", json=statements)
        assert response.status_code == 200, response.text
        ids = response.json()
        assert [s["id"] for s in statements if "id" in s] == ids[1::2]
        run.posted.extend(ids)


async def _check_consistent_through(http: httpx.AsyncClient, run: Run, checker: int) -> None:
    """Ask one server for the header, then list everything stored through it (xAPI 2.1.3)."""
    for turn in itertools.count(checker):
        if not run.writing:
            return
        first, second = run.urls[turn % len(run.urls)], run.urls[(turn + 1) % len(run.urls)]
        response = await http.get(first + "/statements", params={"limit": "1"})
        through = response.headers["X-Experience-API-Consistent-Through"]
        seen = await all_statements(http, second, until=through)
        run.snapshots.append((_ms(through), {s["id"] for s in seen}))


async def _page_ascending(http: httpx.AsyncClient, run: Run) -> None:
    """Follow `more` from the first page while statements arrive, asking each server in turn.

    At the end of the pages the last page is asked for again until writing stops, as a
    client catching up would; it must never have skipped a statement that commits late.
    """
    urls = itertools.cycle(run.urls)
    path = f"/xapi/statements?ascending=true&limit={PAGE}"
    seen: dict[str, None] = {}
    while True:
        writing = run.writing
        response = await http.get(next(urls).removesuffix("/xapi") + path)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.update({s["id"]: None for s in page["statements"]})
        if page["more"]:
            path = page["more"]
        elif not writing:
            run.paged_ascending = list(seen)
            return
        else:
            await asyncio.sleep(0.02)


async def _traffic(credential: Credential, run: Run) -> None:
    async with httpx.AsyncClient(auth=credential.auth, headers=HEADERS, timeout=30) as http:
        pager = asyncio.create_task(_page_ascending(http, run))
        checkers = [asyncio.create_task(_check_consistent_through(http, run, n)) for n in range(2)]
        await asyncio.gather(*(_write(http, run, writer) for writer in range(WRITERS)))
        run.writing = False
        await asyncio.gather(pager, *checkers)


async def test_several_processes_on_one_database(database_url: str, tmp_path: Path) -> None:
    credential = await prepare_database(database_url)
    with _servers(database_url, tmp_path / "lrs.log") as servers:
        run = Run([server.url for server in servers])
        await asyncio.wait_for(_traffic(credential, run), DEADLINE_SECONDS)
        async with httpx.AsyncClient(auth=credential.auth, headers=HEADERS, timeout=30) as http:
            # `more` paging over the finished store, newest first, sees each statement once.
            final = await all_statements(http, run.urls[-1], limit=str(PAGE * 5))

    posted = set(run.posted)
    assert len(run.posted) == WRITERS * BATCHES * BATCH == len(posted), "duplicate ids"
    final_ids = [s["id"] for s in final]
    assert len(final_ids) == len(set(final_ids)), "a page repeated a statement"
    assert set(final_ids) == posted, "statements were lost"
    assert set(run.paged_ascending) == posted, "paging skipped statements that committed late"

    stored_ms = {s["id"]: _ms(s["stored"]) for s in final}
    assert run.snapshots, "no Consistent-Through was checked while writing"
    for through, seen in run.snapshots:
        # "All Statements that have or will have a stored property before that time" (2.1.3).
        missing = {i for i, stored in stored_ms.items() if stored < through} - seen
        assert not missing, f"{len(missing)} statements stored before Consistent-Through unseen"
