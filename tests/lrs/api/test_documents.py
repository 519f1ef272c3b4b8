"""State, Activity Profile and Agent Profile resources over HTTP (Communication 2.2-3.1)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import orjson
import pytest

from lrs.ops.context import LrsContext
from tests.conftest import make_credential

ACTIVITY = "https://acbc.iom.int/courses/ibm-101"
AMINA = {"objectType": "Agent", "mbox": "mailto:amina@example.org"}
REGISTRATION = "ec531277-b57b-4c15-8d91-d292c5b2b8f7"


@dataclass(frozen=True)
class Resource:
    path: str
    id_param: str
    context: dict[str, str]

    def one(self, doc_id: str, **extra: str) -> dict[str, str]:
        return {**self.context, self.id_param: doc_id, **extra}


STATE = Resource(
    "/xapi/activities/state",
    "stateId",
    {"activityId": ACTIVITY, "agent": orjson.dumps(AMINA).decode()},
)
ACTIVITY_PROFILE = Resource("/xapi/activities/profile", "profileId", {"activityId": ACTIVITY})
AGENT_PROFILE = Resource(
    "/xapi/agents/profile", "profileId", {"agent": orjson.dumps(AMINA).decode()}
)
ALL = [
    pytest.param(STATE, id="state"),
    pytest.param(ACTIVITY_PROFILE, id="activity-profile"),
    pytest.param(AGENT_PROFILE, id="agent-profile"),
]
CREATE = {"If-None-Match": "*"}  # what a careful client sends to create a document


def sha1_etag(content: bytes) -> str:
    return '"' + hashlib.sha1(content).hexdigest() + '"'


async def create(
    client: httpx.AsyncClient, resource: Resource, doc_id: str, document: object
) -> None:
    response = await client.put(
        resource.path, params=resource.one(doc_id), json=document, headers=CREATE
    )
    assert response.status_code == 204, response.text


# --- storing and reading ------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ALL)
async def test_any_content_reads_back_byte_for_byte(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    content = b"\x00\xffbinary \xe2\x9c\x93 bytes"
    put = await client.put(
        resource.path,
        params=resource.one("scorm-data"),
        content=content,
        headers={"Content-Type": "text/csv; charset=latin-1", **CREATE},
    )
    assert put.status_code == 204
    got = await client.get(resource.path, params=resource.one("scorm-data"))
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"] == "text/csv; charset=latin-1"
    assert got.headers["etag"] == sha1_etag(content)
    modified = parsedate_to_datetime(got.headers["last-modified"])
    assert abs((datetime.now(tz=UTC) - modified).total_seconds()) < 60


@pytest.mark.parametrize("resource", ALL)
async def test_head_gives_the_headers_without_the_body(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    await create(client, resource, "prefs", {"language": "fr"})
    got = await client.get(resource.path, params=resource.one("prefs"))
    head = await client.head(resource.path, params=resource.one("prefs"))
    assert head.status_code == 200
    assert head.content == b""
    for header in ("etag", "last-modified", "content-type", "content-length"):
        assert head.headers[header] == got.headers[header]
    listing = await client.head(resource.path, params=resource.context)
    assert listing.status_code == 200
    assert listing.content == b""


@pytest.mark.parametrize("resource", ALL)
async def test_missing_document_is_404(client: httpx.AsyncClient, resource: Resource) -> None:
    response = await client.get(resource.path, params=resource.one("never-stored"))
    assert response.status_code == 404


async def test_document_without_content_type_is_octet_stream(client: httpx.AsyncClient) -> None:
    put = await client.put(STATE.path, params=STATE.one("raw"), content=b"raw")
    assert put.status_code == 204
    got = await client.get(STATE.path, params=STATE.one("raw"))
    assert got.headers["content-type"] == "application/octet-stream"


# --- POST merges JSON (2.2) ---------------------------------------------------------------------


@pytest.mark.parametrize("resource", ALL)
async def test_post_creates_then_merges_top_level_properties(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    params = resource.one("progress")
    first = await client.post(resource.path, params=params, json={"x": "foo", "y": {"a": 1}})
    assert first.status_code == 204
    second = await client.post(
        resource.path, params=params, json={"x": "bash", "y": {"b": 2}, "z": 1}
    )
    assert second.status_code == 204
    got = await client.get(resource.path, params=params)
    assert got.json() == {"x": "bash", "y": {"b": 2}, "z": 1}
    assert got.headers["etag"] == sha1_etag(got.content)


@pytest.mark.parametrize("resource", ALL)
async def test_post_that_cannot_merge_is_400_and_changes_nothing(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    params = resource.one("progress")
    await client.post(resource.path, params=params, json={"car": "Honda"})
    not_json = await client.post(
        resource.path, params=params, content=b"abcdefg", headers={"Content-Type": "not/json"}
    )
    assert not_json.status_code == 400
    broken = await client.post(
        resource.path,
        params=params,
        content=b'{"car": "MKZ"}{',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    got = await client.get(resource.path, params=params)
    assert got.json() == {"car": "Honda"}


async def test_post_json_onto_a_non_json_document_is_400(client: httpx.AsyncClient) -> None:
    params = STATE.one("notes")
    await client.put(
        STATE.path, params=params, content=b"/ asdf /", headers={"Content-Type": "text/plain"}
    )
    response = await client.post(STATE.path, params=params, json={"a": 1})
    assert response.status_code == 400
    assert (await client.get(STATE.path, params=params)).content == b"/ asdf /"


async def test_post_of_invalid_json_with_json_type_is_400(client: httpx.AsyncClient) -> None:
    params = ACTIVITY_PROFILE.one("fresh")
    response = await client.post(
        ACTIVITY_PROFILE.path,
        params=params,
        content=b'{"a": 1}[',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert (await client.get(ACTIVITY_PROFILE.path, params=params)).status_code == 404


# --- listing ids and deleting -------------------------------------------------------------------


@pytest.mark.parametrize("resource", ALL)
async def test_ids_list_and_since(client: httpx.AsyncClient, resource: Resource) -> None:
    await create(client, resource, "first", {"n": 1})
    await asyncio.sleep(0.01)
    between = datetime.now(tz=UTC).isoformat()
    await asyncio.sleep(0.01)
    await create(client, resource, "second", {"n": 2})
    everything = await client.get(resource.path, params=resource.context)
    assert everything.status_code == 200
    assert sorted(everything.json()) == ["first", "second"]
    assert "last-modified" in everything.headers
    recent = await client.get(resource.path, params={**resource.context, "since": between})
    assert recent.json() == ["second"]
    bad = await client.get(resource.path, params={**resource.context, "since": "not a timestamp"})
    assert bad.status_code == 400


@pytest.mark.parametrize("resource", ALL)
async def test_delete_one_document(client: httpx.AsyncClient, resource: Resource) -> None:
    await create(client, resource, "gone", {"n": 1})
    await create(client, resource, "kept", {"n": 2})
    deleted = await client.delete(resource.path, params=resource.one("gone"))
    assert deleted.status_code == 204
    assert (await client.get(resource.path, params=resource.one("gone"))).status_code == 404
    assert (await client.get(resource.path, params=resource.context)).json() == ["kept"]
    again = await client.delete(resource.path, params=resource.one("gone"))
    assert again.status_code == 204


async def test_state_delete_without_state_id_clears_the_context(client: httpx.AsyncClient) -> None:
    await create(client, STATE, "a", {})
    await create(client, STATE, "b", {})
    other_activity = {**STATE.context, "activityId": "https://acbc.iom.int/courses/other"}
    await client.put(STATE.path, params={**other_activity, "stateId": "c"}, json={})
    cleared = await client.delete(STATE.path, params=STATE.context)
    assert cleared.status_code == 204
    assert (await client.get(STATE.path, params=STATE.context)).json() == []
    assert (await client.get(STATE.path, params=other_activity)).json() == ["c"]


async def test_state_registrations_are_separate_contexts(client: httpx.AsyncClient) -> None:
    with_reg = STATE.one("bookmark", registration=REGISTRATION)
    await client.put(STATE.path, params=with_reg, json={"page": 7})
    await client.put(STATE.path, params=STATE.one("bookmark"), json={"page": 1})
    await client.put(STATE.path, params=STATE.one("suspend", registration=REGISTRATION), json={})
    assert (await client.get(STATE.path, params=with_reg)).json() == {"page": 7}
    assert (await client.get(STATE.path, params=STATE.one("bookmark"))).json() == {"page": 1}
    in_registration = await client.get(
        STATE.path, params={**STATE.context, "registration": REGISTRATION}
    )
    assert sorted(in_registration.json()) == ["bookmark", "suspend"]
    # Without a registration, the listing and the clearing cover every registration (2.3).
    assert sorted((await client.get(STATE.path, params=STATE.context)).json()) == [
        "bookmark",
        "suspend",
    ]
    cleared = await client.delete(
        STATE.path, params={**STATE.context, "registration": REGISTRATION}
    )
    assert cleared.status_code == 204
    assert (await client.get(STATE.path, params=STATE.context)).json() == ["bookmark"]


async def test_agent_profile_follows_the_identifier_not_the_name(client: httpx.AsyncClient) -> None:
    await create(client, AGENT_PROFILE, "prefs", {"lang": "fr"})
    renamed = orjson.dumps({"mbox": "mailto:amina@example.org", "name": "Amina B."}).decode()
    got = await client.get(AGENT_PROFILE.path, params={"agent": renamed, "profileId": "prefs"})
    assert got.json() == {"lang": "fr"}
    group = orjson.dumps({"objectType": "Group", "mbox": "mailto:team@example.org"}).decode()
    stored = await client.put(
        AGENT_PROFILE.path, params={"agent": group, "profileId": "prefs"}, json={}, headers=CREATE
    )
    assert stored.status_code == 204


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        (STATE, {"agent": STATE.context["agent"], "stateId": "s"}),
        (STATE, {"activityId": ACTIVITY, "stateId": "s"}),
        (STATE, STATE.one("s", agent="not JSON")),
        (STATE, STATE.one("s", registration="true")),
        (STATE, STATE.one("s", foo="bar")),
        (ACTIVITY_PROFILE, {"profileId": "p"}),
        (ACTIVITY_PROFILE, ACTIVITY_PROFILE.one("p", activityId="no scheme")),
        (AGENT_PROFILE, {"profileId": "p"}),
        (AGENT_PROFILE, AGENT_PROFILE.one("p", agent='{"name": "no identifier"}')),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
async def test_bad_parameters_are_400(
    client: httpx.AsyncClient, resource: Resource, params: dict[str, str], method: str
) -> None:
    body = b"{}" if method in ("PUT", "POST") else None
    response = await client.request(
        method,
        resource.path,
        params=params,
        content=body,
        headers={"Content-Type": "application/json", **CREATE},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
async def test_profile_delete_needs_a_profile_id(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    response = await client.delete(resource.path, params=resource.context)
    assert response.status_code == 400


# --- concurrency (Communication 3.1) ------------------------------------------------------------


@pytest.mark.parametrize("resource", ALL)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
async def test_if_match_guards_writes(
    client: httpx.AsyncClient, resource: Resource, method: str
) -> None:
    await create(client, resource, "doc", {"v": 1})
    etag = (await client.get(resource.path, params=resource.one("doc"))).headers["etag"]
    body = b'{"v": 2}' if method != "DELETE" else None
    headers = {"Content-Type": "application/json"}
    stale = await client.request(
        method,
        resource.path,
        params=resource.one("doc"),
        content=body,
        headers={**headers, "If-Match": '"1234"'},
    )
    assert stale.status_code == 412
    assert (await client.get(resource.path, params=resource.one("doc"))).json() == {"v": 1}
    fresh = await client.request(
        method,
        resource.path,
        params=resource.one("doc"),
        content=body,
        headers={**headers, "If-Match": etag},
    )
    assert fresh.status_code == 204


@pytest.mark.parametrize("resource", ALL)
async def test_if_none_match_star_creates_only(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    await create(client, resource, "doc", {"v": 1})
    again = await client.put(
        resource.path, params=resource.one("doc"), json={"v": 2}, headers=CREATE
    )
    assert again.status_code == 412
    assert (await client.get(resource.path, params=resource.one("doc"))).json() == {"v": 1}


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
async def test_profile_put_without_headers_over_a_document_is_409(
    client: httpx.AsyncClient, resource: Resource, version: str
) -> None:
    await create(client, resource, "doc", {"v": 1})
    response = await client.put(
        resource.path,
        params=resource.one("doc"),
        json={"v": 2},
        headers={"X-Experience-API-Version": version},
    )
    assert response.status_code == 409
    assert "If-Match" in response.json()["message"]
    assert (await client.get(resource.path, params=resource.one("doc"))).json() == {"v": 1}


async def test_state_put_without_headers_overwrites_in_1_0_3_but_not_2_0_0(
    client: httpx.AsyncClient,
) -> None:
    params = STATE.one("doc")
    assert (await client.put(STATE.path, params=params, json={"v": 1})).status_code == 204
    assert (await client.put(STATE.path, params=params, json={"v": 2})).status_code == 204
    v2 = {"X-Experience-API-Version": "2.0.0"}
    assert (
        await client.put(STATE.path, params=params, json={"v": 3}, headers=v2)
    ).status_code == 409
    assert (await client.get(STATE.path, params=params)).json() == {"v": 2}


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
async def test_new_profile_needs_a_concurrency_header_in_1_0_3(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    old = await client.put(resource.path, params=resource.one("a"), json={})
    assert old.status_code == 400
    new = await client.put(
        resource.path,
        params=resource.one("a"),
        json={},
        headers={"X-Experience-API-Version": "2.0.0"},
    )
    assert new.status_code == 204


@pytest.mark.parametrize("resource", ALL)
async def test_concurrent_puts_with_the_same_if_match_one_wins(
    client: httpx.AsyncClient, resource: Resource
) -> None:
    await create(client, resource, "race", {"writer": "none"})
    etag = (await client.get(resource.path, params=resource.one("race"))).headers["etag"]

    async def put(writer: int) -> httpx.Response:
        return await client.put(
            resource.path,
            params=resource.one("race"),
            json={"writer": writer},
            headers={"If-Match": etag},
        )

    responses = await asyncio.gather(*(put(n) for n in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204, 412, 412, 412, 412, 412]
    winner = next(n for n, r in enumerate(responses) if r.status_code == 204)
    assert (await client.get(resource.path, params=resource.one("race"))).json() == {
        "writer": winner
    }


async def test_concurrent_creates_with_if_none_match_one_wins(client: httpx.AsyncClient) -> None:
    async def put(writer: int) -> httpx.Response:
        return await client.put(
            ACTIVITY_PROFILE.path,
            params=ACTIVITY_PROFILE.one("new"),
            json={"writer": writer},
            headers=CREATE,
        )

    statuses = sorted(r.status_code for r in await asyncio.gather(*(put(n) for n in range(6))))
    assert statuses == [204, 412, 412, 412, 412, 412]


async def test_last_modified_moves_when_the_document_changes(client: httpx.AsyncClient) -> None:
    await create(client, STATE, "doc", {"v": 1})
    before = (await client.get(STATE.path, params=STATE.one("doc"))).headers["last-modified"]
    await asyncio.sleep(1.05)  # Last-Modified has one-second resolution
    await client.post(STATE.path, params=STATE.one("doc"), json={"v": 2})
    after = (await client.get(STATE.path, params=STATE.one("doc"))).headers["last-modified"]
    assert parsedate_to_datetime(after) > parsedate_to_datetime(before)


# --- credentials and scopes (Communication 4.2) -------------------------------------------------


async def test_documents_need_a_credential(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(
        STATE.path, params=STATE.one("doc"), headers={"X-Experience-API-Version": "1.0.3"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("scopes", "resource", "method", "status"),
    [
        (["state"], STATE, "PUT", 204),
        (["state"], ACTIVITY_PROFILE, "PUT", 403),
        (["profile"], AGENT_PROFILE, "PUT", 204),
        (["profile"], STATE, "GET", 403),
        (["all/read"], STATE, "GET", 404),
        (["all/read"], STATE, "PUT", 403),
        (["statements/read"], AGENT_PROFILE, "GET", 403),
    ],
)
async def test_scopes(
    anonymous: httpx.AsyncClient,
    lrs: LrsContext,
    scopes: list[str],
    resource: Resource,
    method: str,
    status: int,
) -> None:
    credential = await make_credential(lrs, scopes)
    body = b"{}" if method == "PUT" else None
    response = await anonymous.request(
        method,
        resource.path,
        params=resource.one("doc"),
        content=body,
        auth=credential.auth,
        headers={"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json", **CREATE},
    )
    assert response.status_code == status
