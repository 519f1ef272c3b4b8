"""A first end-to-end check of the Statement resource through the ASGI app."""

from __future__ import annotations

import httpx

from tests.conftest import statement


async def test_posted_statement_reads_back(client: httpx.AsyncClient) -> None:
    posted = await client.post("/xapi/statements", json=statement())
    assert posted.status_code == 200
    (statement_id,) = posted.json()
    got = await client.get("/xapi/statements", params={"statementId": statement_id})
    assert got.status_code == 200
    assert got.json()["id"] == statement_id
    assert got.json()["actor"]["mbox"] == "mailto:amina@example.org"
