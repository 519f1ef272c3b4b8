"""save_statements without HTTP: concurrent batches committed together, each whole or not at all."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from lrs.errors import BadRequest, Conflict
from lrs.ops.context import LrsContext
from lrs.ops.get_statements import Reader, find_statements
from lrs.ops.save_statements import Writer, save_statements
from lrs.types import FeedEntry
from lrs.xapi.prepare import Authority, authority_agent
from lrs.xapi.query import parse_query
from tests.conftest import statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def writer(name: str = "moodle") -> Writer:
    agent = authority_agent(name, f"key-{name}", "https://lrs.example.org")
    return Writer(Authority(f"key-{name}", agent), may_define=True)


async def stored_ids(lrs: LrsContext) -> set[str]:
    query = parse_query({}, "1.0.3", 1000, 1000)
    page = await find_statements(lrs, query, Reader("key-moodle", only_mine=False), [])
    return {orjson.loads(body)["id"] for body in page.statements_json}


async def test_concurrent_batches_are_stored_and_a_bad_one_alone_fails(lrs: LrsContext) -> None:
    taken = str(uuid.uuid4())
    await save_statements(lrs, [statement(id=taken)], writer(), "1.0.3")
    good = [[statement(id=str(uuid.uuid4())) for _ in range(20)] for _ in range(5)]
    # Same id as a stored statement, other content: this batch must fail on its own.
    conflicting = [statement(id=str(uuid.uuid4())), statement(id=taken, verb={"id": VOIDED})]
    results = await asyncio.gather(
        *(save_statements(lrs, batch, writer(), "1.0.3") for batch in [*good, conflicting]),
        return_exceptions=True,
    )
    assert all(isinstance(r, list) for r in results[:5])
    assert isinstance(results[5], Conflict)
    ids = await stored_ids(lrs)
    assert {s["id"] for batch in good for s in batch} <= ids
    assert conflicting[0]["id"] not in ids  # nothing of the failed batch was stored


async def test_the_same_statement_sent_twice_at_once_is_stored_once(lrs: LrsContext) -> None:
    same = statement(id=str(uuid.uuid4()))
    results = await asyncio.gather(
        save_statements(lrs, [same], writer(), "1.0.3"),
        save_statements(lrs, [same], writer(), "1.0.3"),
    )
    assert results[0] == results[1] == [same["id"]]
    assert await stored_ids(lrs) == {same["id"]}


async def test_a_batch_may_void_a_statement_of_another_batch_in_the_same_group(
    lrs: LrsContext,
) -> None:
    target = statement(id=str(uuid.uuid4()))
    voiding = statement(
        id=str(uuid.uuid4()),
        verb={"id": VOIDED},
        object={"objectType": "StatementRef", "id": target["id"]},
    )
    await asyncio.gather(
        save_statements(lrs, [target], writer(), "1.0.3"),
        save_statements(lrs, [voiding], writer(), "1.0.3"),
    )
    assert await stored_ids(lrs) == {voiding["id"]}  # the target left the query results


async def test_voiding_a_voiding_statement_fails_only_that_batch(lrs: LrsContext) -> None:
    target = statement(id=str(uuid.uuid4()))
    voiding = statement(
        id=str(uuid.uuid4()),
        verb={"id": VOIDED},
        object={"objectType": "StatementRef", "id": target["id"]},
    )
    await save_statements(lrs, [target, voiding], writer(), "1.0.3")
    again = statement(
        verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voiding["id"]}
    )
    other = statement(id=str(uuid.uuid4()))
    results = await asyncio.gather(
        save_statements(lrs, [again], writer(), "1.0.3"),
        save_statements(lrs, [other], writer(), "1.0.3"),
        return_exceptions=True,
    )
    assert isinstance(results[0], BadRequest)
    assert results[1] == [other["id"]]


@pytest.mark.parametrize("batches", [1, 12])
async def test_listeners_hear_each_batch_once(lrs: LrsContext, batches: int) -> None:
    heard: list[list[str]] = []

    class Listener:
        async def statements_stored(self, entries: list[FeedEntry], voided: list[str]) -> None:
            heard.append([str(e.statement["id"]) for e in entries])

    lrs.listeners.append(Listener())
    sent = [[statement(id=str(uuid.uuid4())) for _ in range(3)] for _ in range(batches)]
    await asyncio.gather(*(save_statements(lrs, b, writer(), "1.0.3") for b in sent))
    assert sorted(map(sorted, heard)) == sorted(sorted(s["id"] for s in b) for b in sent)
