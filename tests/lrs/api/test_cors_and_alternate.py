"""Browser content on other origins (CORS), Alternate Request Syntax (1.3), tolerant paths."""

from __future__ import annotations

import base64
import json
import uuid

import httpx

from tests.conftest import Credential, statement

URL = "/xapi/statements"
ORIGIN = "https://content.acbc.iom.int"
REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Experience-API-Version",
    "If-Match",
    "If-None-Match",
]
EXPOSED = [
    "ETag",
    "Last-Modified",
    "X-Experience-API-Consistent-Through",
    "X-Experience-API-Version",
]


def _listed(header: str) -> set[str]:
    return {item.strip().lower() for item in header.split(",")}


def _basic(credential: Credential) -> str:
    return "Basic " + base64.b64encode(f"{credential.key}:{credential.secret}".encode()).decode()


# --- CORS --------------------------------------------------------------------------------------


async def test_preflight_from_another_origin_allows_what_xapi_clients_send(
    anonymous: httpx.AsyncClient,
) -> None:
    for path, method in ((URL, "PUT"), (URL, "POST"), (URL, "GET"), ("/xapi/about", "GET")):
        response = await anonymous.options(
            path,
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": ", ".join(h.lower() for h in REQUEST_HEADERS),
            },
        )
        assert response.status_code == 200, (path, method, response.text)
        assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
        assert method.lower() in _listed(response.headers["access-control-allow-methods"])
        allowed = _listed(response.headers["access-control-allow-headers"])
        assert {h.lower() for h in REQUEST_HEADERS} <= allowed


async def test_responses_to_other_origins_expose_the_xapi_headers(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await client.post(URL, json=statement())
    response = await client.get(URL, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert {h.lower() for h in EXPOSED} <= _listed(
        response.headers["access-control-expose-headers"]
    )
    # Errors carry CORS headers too, or the browser hides them from the content.
    for headers in ({"Origin": ORIGIN}, {"Origin": ORIGIN, "X-Experience-API-Version": "1.0.3"}):
        refused = await anonymous.get(URL, headers=headers)
        assert refused.status_code in (400, 401)
        assert refused.headers["access-control-allow-origin"] in ("*", ORIGIN)


# --- Alternate Request Syntax (1.0.3 only) --------------------------------------------------------


async def test_alternate_syntax_put_and_get_for_1_0_3(
    anonymous: httpx.AsyncClient, credential: Credential
) -> None:
    statement_id = str(uuid.uuid4())
    headers_in_form = {
        "Authorization": _basic(credential),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    put = await anonymous.post(
        URL,
        params={"method": "PUT"},
        data={
            **headers_in_form,
            "statementId": statement_id,
            "content": json.dumps(statement()),
        },
    )
    assert put.status_code == 204, put.text
    got = await anonymous.post(
        URL,
        params={"method": "GET"},
        data={
            "Authorization": _basic(credential),
            "X-Experience-API-Version": "1.0.3",
            "statementId": statement_id,
        },
    )
    assert got.status_code == 200, got.text
    assert got.json()["id"] == statement_id
    assert got.headers["X-Experience-API-Version"] == "1.0.3"
    listed = await anonymous.post(
        URL,
        params={"method": "GET"},
        data={
            "Authorization": _basic(credential),
            "X-Experience-API-Version": "1.0.3",
            "verb": statement()["verb"]["id"],
        },
    )
    assert [s["id"] for s in listed.json()["statements"]] == [statement_id]


async def test_alternate_syntax_needs_its_credential_and_form(
    anonymous: httpx.AsyncClient, credential: Credential
) -> None:
    no_auth = await anonymous.post(
        URL, params={"method": "GET"}, data={"X-Experience-API-Version": "1.0.3"}
    )
    assert no_auth.status_code == 401
    extra_query = await anonymous.post(
        URL,
        params={"method": "GET", "verb": "http://x.org/v"},
        data={
            "Authorization": _basic(credential),
            "X-Experience-API-Version": "1.0.3",
        },
    )
    assert extra_query.status_code == 400
    not_a_method = await anonymous.post(
        URL,
        params={"method": "PATCH"},
        data={
            "Authorization": _basic(credential),
            "X-Experience-API-Version": "1.0.3",
        },
    )
    assert not_a_method.status_code == 400
    assert not_a_method.json()["message"]


async def test_alternate_syntax_is_rejected_for_2_0_0(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, credential: Credential
) -> None:
    form = {
        "Authorization": _basic(credential),
        "X-Experience-API-Version": "2.0.0",
        "Content-Type": "application/json",
        "statementId": str(uuid.uuid4()),
        "content": json.dumps(statement()),
    }
    in_form = await anonymous.post(URL, params={"method": "PUT"}, data=form)
    assert in_form.status_code == 400
    assert in_form.json()["message"]
    del form["X-Experience-API-Version"]
    in_header = await anonymous.post(
        URL, params={"method": "PUT"}, data=form, headers={"X-Experience-API-Version": "2.0.0"}
    )
    assert in_header.status_code == 400
    assert (await client.get(URL)).json()["statements"] == []


# --- tolerant paths ---------------------------------------------------------------------------


async def test_double_slashes_and_trailing_slashes_reach_the_resource(
    client: httpx.AsyncClient,
) -> None:
    registration = str(uuid.uuid4())
    posted = await client.post(
        "/xapi//statements", json=statement(context={"registration": registration})
    )
    assert posted.status_code == 200
    for path in ("/xapi//statements", "/xapi/statements/", "/xapi///statements//"):
        response = await client.get(path, params={"registration": registration})
        assert response.status_code == 200, path
        assert [s["id"] for s in response.json()["statements"]] == posted.json(), path
