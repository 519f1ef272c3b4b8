"""A server killed by SIGKILL while clients post keeps every acknowledged batch, none in part."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Credential
from tests.lrs.lrs_process import HEADERS, LrsProcess, all_statements, prepare_database, start_lrs

CLIENTS = 4
BATCH = 40
# Kill once this many batches are acknowledged; clients are still posting then.
ACKNOWLEDGED_BEFORE_KILL = 12
DEADLINE_SECONDS = 30


@dataclass
class Batch:
    ids: list[str]
    acknowledged: bool = False


@dataclass
class Traffic:
    batches: list[Batch] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return sum(batch.acknowledged for batch in self.batches)


def _batch(client: int) -> list[dict[str, Any]]:
    """Statements with ids the client chooses, each filling several index rows."""
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"objectType": "Agent", "mbox": f"mailto:learner{client}-{n}@example.org"},
            "verb": {
                "id": "http://adlnet.gov/expapi/verbs/completed",
                "display": {"en": "completed"},
            },
            "object": {"objectType": "Activity", "id": f"https://acbc.iom.int/modules/{n}"},
            "context": {
                "registration": str(uuid.uuid4()),
                "contextActivities": {"grouping": [{"id": "https://acbc.iom.int/courses/ibm-101"}]},
            },
        }
        for n in range(BATCH)
    ]


async def _post_until_the_server_dies(
    url: str, auth: tuple[str, str], client: int, traffic: Traffic
) -> None:
    async with httpx.AsyncClient(auth=auth, headers=HEADERS, timeout=10) as http:
        while True:
            statements = _batch(client)
            batch = Batch([s["id"] for s in statements])
            traffic.batches.append(batch)
            try:
                response = await http.post(url + "/statements", json=statements)
            except httpx.HTTPError:
                return  # the server is gone; this batch may or may not have been stored
            assert response.status_code == 200, response.text
            assert response.json() == batch.ids
            batch.acknowledged = True


async def _kill_once_enough_are_acknowledged(server: LrsProcess, traffic: Traffic) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while traffic.acknowledged < ACKNOWLEDGED_BEFORE_KILL:
        assert time.monotonic() < deadline, "the server acknowledged too few batches"
        await asyncio.sleep(0.005)
    server.kill()


async def test_sigkill_loses_no_acknowledged_batch_and_stores_none_in_part(
    database_url: str, tmp_path: Path
) -> None:
    credential: Credential = await prepare_database(database_url)
    log = tmp_path / "lrs.log"
    server = start_lrs(database_url, log)
    traffic = Traffic()
    try:
        posting = [
            _post_until_the_server_dies(server.url, credential.auth, client, traffic)
            for client in range(CLIENTS)
        ]
        await asyncio.wait_for(
            asyncio.gather(_kill_once_enough_are_acknowledged(server, traffic), *posting),
            DEADLINE_SECONDS,
        )
    finally:
        server.stop()

    restarted = start_lrs(database_url, log)
    try:
        async with httpx.AsyncClient(auth=credential.auth, headers=HEADERS, timeout=10) as http:
            stored = [s["id"] for s in await all_statements(http, restarted.url)]
            # The restarted server takes new statements as before.
            after = await http.post(restarted.url + "/statements", json=_batch(CLIENTS))
            assert after.status_code == 200, after.text
    finally:
        restarted.stop()

    assert len(stored) == len(set(stored))
    stored_ids = set(stored)
    for batch in traffic.batches:
        kept = stored_ids.intersection(batch.ids)
        if batch.acknowledged:
            assert kept == set(batch.ids), "an acknowledged batch lost statements"
        else:
            assert kept in (set(), set(batch.ids)), "a batch was stored in part"
    assert stored_ids <= {i for batch in traffic.batches for i in batch.ids}
