"""Bodies no client should send: each a 4xx with a JSON message, never a 500; nothing stored."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from lrs.config import Settings
from tests.conftest import statement

URL = "/xapi/statements"
BODY_LIMIT = 8 * 1024
JSON = "application/json"
VALID = json.dumps(statement()).encode()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The app under test refuses bodies over a few kilobytes."""
    return Settings(database_url=database_url, max_body_bytes=BODY_LIMIT)


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _deep_extension(depth: int) -> bytes:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return json.dumps(
        statement(result={"extensions": {"https://acbc.iom.int/x/deep": value}})
    ).encode()


BAD_BODIES: dict[str, tuple[bytes, str | None]] = {
    "malformed JSON": (b'{"actor": {"mbox": "mailto:amina@example.org"', JSON),
    "trailing garbage": (VALID + b"}", JSON),
    "invalid UTF-8": (VALID.replace(b'"Amina"', b'"Am\xffina"'), JSON),
    "lone surrogate escape": (VALID.replace(b'"Amina"', b'"Am\\ud800ina"'), JSON),
    "empty": (b"", JSON),
    "only whitespace": (b" \r\n\t", JSON),
    "arrays nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "objects nested 100,000 deep": (_nested(100_000), JSON),
    "nested deeper than can be stored": (_deep_extension(400), JSON),
    "a number": (b"42", JSON),
    "a string": (b'"statement"', JSON),
    "null": (b"null", JSON),
    "true": (b"true", JSON),
    "an empty batch": (b"[]", JSON),
    "a batch of nulls": (b"[null, null]", JSON),
    "NaN score": (VALID[:-1] + b', "result": {"score": {"raw": NaN}}}', JSON),
    "infinite score": (VALID[:-1] + b', "result": {"score": {"raw": 1e400}}}', JSON),
    "no content type": (VALID, None),
    "text/plain": (VALID, "text/plain"),
    "application/xml": (b"<statement/>", "application/xml"),
    "form without method": (b"content=" + VALID, "application/x-www-form-urlencoded"),
    "multipart without boundary": (VALID, "multipart/mixed"),
    "multipart that is not": (VALID, "multipart/mixed; boundary=abc"),
}


async def _send(
    client: httpx.AsyncClient, method: str, body: bytes, content_type: str | None, version: str
) -> httpx.Response:
    headers = {"X-Experience-API-Version": version}
    if content_type is not None:
        headers["Content-Type"] = content_type
    params = {"statementId": str(uuid.uuid4())} if method == "PUT" else {}
    return await client.request(method, URL, params=params, content=body, headers=headers)


def _assert_refused(response: httpx.Response, case: str) -> None:
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert response.headers["content-type"].startswith(JSON), case
    message = response.json()["message"]
    assert isinstance(message, str) and message, case


async def _assert_nothing_stored(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 200
    assert response.json()["statements"] == []


async def test_bad_bodies_are_refused_with_a_message(client: httpx.AsyncClient) -> None:
    for case, (body, content_type) in BAD_BODIES.items():
        for method in ("POST", "PUT"):
            for version in ("1.0.3", "2.0.0"):
                response = await _send(client, method, body, content_type, version)
                _assert_refused(response, f"{method} {version} {case}")
    await _assert_nothing_stored(client)


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    padding = "x" * BODY_LIMIT
    oversized = json.dumps(statement(result={"response": padding})).encode()
    declared = await client.post(URL, content=oversized, headers={"Content-Type": JSON})
    _assert_refused(declared, "declared length")
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 1000):
            yield oversized[start : start + 1000]

    # No Content-Length: the LRS must count as it reads.
    streamed = await client.post(URL, content=chunks(), headers={"Content-Type": JSON})
    _assert_refused(streamed, "streamed")
    assert streamed.status_code == 413
    await _assert_nothing_stored(client)
    # A body just under the limit is fine.
    fits = json.dumps(statement(result={"response": "x" * (BODY_LIMIT - 1000)})).encode()
    assert (await client.post(URL, content=fits, headers={"Content-Type": JSON})).status_code == 200


async def test_an_oversized_alternate_request_is_413(client: httpx.AsyncClient) -> None:
    form = {
        "content": json.dumps(statement(result={"response": "x" * BODY_LIMIT})),
        "Content-Type": JSON,
        "X-Experience-API-Version": "1.0.3",
    }
    response = await client.post(URL, params={"method": "POST"}, data=form)
    _assert_refused(response, "alternate")
    assert response.status_code == 413
    await _assert_nothing_stored(client)


async def test_bad_query_values_are_refused_with_a_message(client: httpx.AsyncClient) -> None:
    for case, params in {
        "agent not JSON": {"agent": "{mbox: amina}"},
        "agent nested deep": {"agent": "[" * 5000 + "]" * 5000},
        "agent a number": {"agent": "42"},
        "agent null": {"agent": "null"},
        "limit in superscript digits": {"limit": "\u00b2"},
        "since far future": {"since": "99999-01-01T00:00:00Z"},
        "more tampered": {"more": "eyJwIjoxfQ"},
    }.items():
        _assert_refused(await client.get(URL, params=params), case)
    # A limit too long for int() is simply more than the server allows.
    assert (await client.get(URL, params={"limit": "9" * 5000})).status_code == 200


async def test_a_nul_in_an_mbox_is_refused(client: httpx.AsyncClient) -> None:
    # JSON can carry U+0000 as an escape; PostgreSQL text columns cannot hold it.
    bad = statement(actor={"mbox": "mailto:amina\u0000@example.org"})
    _assert_refused(await client.post(URL, json=bad), "statement")
    _assert_refused(await client.get(URL, params={"agent": json.dumps(bad["actor"])}), "query")
    await _assert_nothing_stored(client)


async def test_control_characters_in_identifiers_are_refused(client: httpx.AsyncClient) -> None:
    # PostgreSQL text cannot hold U+0000; identifiers with control characters are bad input.
    account = {"homePage": "https://moodle.example.org", "name": "user\u000042"}
    _assert_refused(await client.post(URL, json=statement(actor={"account": account})), "account")
    state = {
        "activityId": "https://acbc.iom.int/courses/ibm-101",
        "agent": json.dumps({"mbox": "mailto:amina@example.org"}),
        "stateId": "bookmark\u0000",
    }
    _assert_refused(await client.put("/xapi/activities/state", params=state, json={}), "stateId")
    await _assert_nothing_stored(client)


async def test_a_control_character_in_a_part_header_is_refused(client: httpx.AsyncClient) -> None:
    content = b"hello"
    sha2 = hashlib.sha256(content).hexdigest()
    attached = statement(
        attachments=[
            {
                "usageType": "https://acbc.iom.int/attachments/note",
                "display": {"en": "note"},
                "contentType": "text/plain",
                "length": len(content),
                "sha2": sha2,
            }
        ]
    )
    body = (
        b"--B\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps(attached).encode()
        + b"\r\n--B\r\nContent-Type: text/pl\x00ain\r\nContent-Transfer-Encoding: binary\r\n"
        + b"X-Experience-API-Hash: "
        + sha2.encode()
        + b"\r\n\r\n"
        + content
        + b"\r\n--B--\r\n"
    )
    response = await client.post(
        URL, content=body, headers={"Content-Type": "multipart/mixed; boundary=B"}
    )
    _assert_refused(response, "part header")
    await _assert_nothing_stored(client)
