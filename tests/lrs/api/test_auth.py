"""Who may do what: credentials, revocation, scopes and the version header (Communication 4)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from lrs.app import create_app
from lrs.config import Settings
from lrs.ops import credentials as credentials_ops
from lrs.ops.context import LrsContext
from lrs.ops.credentials import revoke_credential
from tests.conftest import Credential, asgi_client, make_credential, statement

URL = "/xapi/statements"
V103 = {"X-Experience-API-Version": "1.0.3"}


@asynccontextmanager
async def client_for(
    app: Starlette, credential: Credential | None
) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, auth=credential.auth if credential else None, headers=V103) as http:
        yield http


def _basic(raw: bytes) -> dict[str, str]:
    return {**V103, "Authorization": "Basic " + base64.b64encode(raw).decode()}


async def _ids(http: httpx.AsyncClient) -> set[str]:
    response = await http.get(URL)
    assert response.status_code == 200, response.text
    return {s["id"] for s in response.json()["statements"]}


# --- credentials -------------------------------------------------------------------------------


async def test_missing_or_wrong_credentials_are_401(
    anonymous: httpx.AsyncClient, credential: Credential
) -> None:
    cases = {
        "none": V103,
        "wrong secret": _basic(f"{credential.key}:not-the-secret".encode()),
        "unknown key": _basic(b"nobody:secret"),
        "no colon": _basic(credential.key.encode()),
        "not base64": {**V103, "Authorization": "Basic %%%"},
        "not Basic": {**V103, "Authorization": f"Bearer {credential.secret}"},
        "empty": {**V103, "Authorization": ""},
    }
    for case, headers in cases.items():
        for method in ("GET", "POST"):
            body = json.dumps(statement()).encode() if method == "POST" else None
            response = await anonymous.request(
                method, URL, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert response.status_code == 401, (case, method)
            assert response.json()["message"], case
    right = await anonymous.get(
        URL, headers=_basic(f"{credential.key}:{credential.secret}".encode())
    )
    assert right.status_code == 200


async def test_a_revoked_credential_is_refused(
    lrs: LrsContext, app: Starlette, settings: Settings
) -> None:
    never_used = await make_credential(lrs, ["all"])
    in_use = await make_credential(lrs, ["all"])
    async with client_for(app, in_use) as http:
        assert (await http.get(URL)).status_code == 200
    assert await revoke_credential(lrs, never_used.key)
    assert await revoke_credential(lrs, in_use.key)
    async with client_for(app, never_used) as http:
        assert (await http.get(URL)).status_code == 401
    # This app may remember a recent success for up to CACHE_SECONDS (5 s); a process that
    # has not seen the credential (another worker, or after a restart) refuses it at once.
    fresh = create_app(settings, plugins=[])
    async with fresh.router.lifespan_context(fresh), client_for(fresh, in_use) as http:
        response = await http.post(URL, json=statement())
        assert response.status_code == 401
        assert response.json()["message"]


async def test_a_burst_of_requests_with_a_new_pair_hashes_the_secret_once(
    lrs: LrsContext, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch client opens several connections at once: each of its first requests must be
    # answered rightly, and the server must not hash the same secret once a request.
    hashed: list[str] = []
    real = credentials_ops.secret_matches

    def counting(secret: str, secret_hash: str) -> bool:
        hashed.append(secret)
        return real(secret, secret_hash)

    monkeypatch.setattr(credentials_ops, "secret_matches", counting)
    credential = await make_credential(lrs, ["all"])
    wrong = _basic(f"{credential.key}:not-the-secret".encode())
    async with client_for(app, credential) as http, client_for(app, None) as anonymous:
        rights = [http.get(URL) for _ in range(12)]
        wrongs = [anonymous.get(URL, headers=wrong) for _ in range(12)]
        answers = await asyncio.gather(*rights, *wrongs)
    assert [a.status_code for a in answers] == [200] * 12 + [401] * 12
    assert hashed.count(credential.secret) == 1


# --- scopes (Communication 4.2) ------------------------------------------------------------------


async def test_write_only_credentials_cannot_read(lrs: LrsContext, app: Starlette) -> None:
    writer = await make_credential(lrs, ["statements/write"])
    async with client_for(app, writer) as http:
        posted = await http.post(URL, json=statement())
        assert posted.status_code == 200
        (statement_id,) = posted.json()
        for params in ({}, {"statementId": statement_id}):
            response = await http.get(URL, params=params)
            assert response.status_code == 403
            assert response.json()["message"]


async def test_read_only_credentials_cannot_write(
    lrs: LrsContext, app: Starlette, client: httpx.AsyncClient
) -> None:
    (statement_id,) = (await client.post(URL, json=statement())).json()
    for scopes in (["statements/read"], ["all/read"]):
        reader = await make_credential(lrs, scopes)
        async with client_for(app, reader) as http:
            assert await _ids(http) == {statement_id}
            assert (await http.get(URL, params={"statementId": statement_id})).status_code == 200
            posted = await http.post(URL, json=statement())
            assert posted.status_code == 403, scopes
            put = await http.put(URL, params={"statementId": str(uuid.uuid4())}, json=statement())
            assert put.status_code == 403, scopes
    assert await _ids(client) == {statement_id}


async def test_read_mine_sees_only_its_own_statements(
    lrs: LrsContext, app: Starlette, client: httpx.AsyncClient
) -> None:
    (theirs,) = (await client.post(URL, json=statement())).json()
    mine_only = await make_credential(
        lrs, ["statements/write", "statements/read/mine"], name="kiosk"
    )
    async with client_for(app, mine_only) as http:
        (mine,) = (await http.post(URL, json=statement())).json()
        assert await _ids(http) == {mine}
        assert (await http.get(URL, params={"statementId": mine})).status_code == 200
        assert (await http.get(URL, params={"statementId": theirs})).status_code == 404
        agent = json.dumps(statement()["actor"])
        assert {
            s["id"] for s in (await http.get(URL, params={"agent": agent})).json()["statements"]
        } == {mine}
        # Paging keeps the restriction.
        await http.post(URL, json=[statement() for _ in range(3)])
        first = (await http.get(URL, params={"limit": "2"})).json()
        rest = (await http.get(first["more"])).json()
        assert theirs not in {s["id"] for s in first["statements"] + rest["statements"]}
        assert len(first["statements"]) + len(rest["statements"]) == 4
    assert await _ids(client) >= {theirs, mine}


# --- versions (Communication 6.2, About) --------------------------------------------------------


async def test_about_needs_no_credential_and_lists_both_versions(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/xapi/about")
    assert response.status_code == 200
    assert {"1.0.3", "2.0.0"} <= set(response.json()["version"])


async def test_the_version_header_is_required_and_checked(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, credential: Credential
) -> None:
    absent = await anonymous.get(URL, auth=credential.auth)
    assert absent.status_code == 400
    assert absent.json()["message"]
    for unknown in ("", "0.95", "0.9", "1.1.0", "3.0.0", "latest", "1.0.3.1"):
        response = await client.get(URL, headers={"X-Experience-API-Version": unknown})
        assert response.status_code == 400, unknown
        assert response.json()["message"], unknown


async def test_each_request_is_answered_in_its_version(client: httpx.AsyncClient) -> None:
    for sent, served in (
        ("1.0.0", "1.0.3"),
        ("1.0.1", "1.0.3"),
        ("1.0.2", "1.0.3"),
        ("1.0.3", "1.0.3"),
        ("2.0.0", "2.0.0"),
    ):
        headers = {"X-Experience-API-Version": sent}
        posted = await client.post(URL, json=statement(), headers=headers)
        assert posted.status_code == 200, sent
        assert posted.headers["X-Experience-API-Version"] == served, sent
        got = await client.get(URL, headers=headers)
        assert got.headers["X-Experience-API-Version"] == served, sent
