"""TinCanPython's document calls (state, activity profile, agent profile) against a live LRS.

TinCanPython speaks xAPI 1.0.3 and has two quirks these tests work around, as its users must:
it never reads the ETag of a retrieved document (it looks headers up in a list of pairs), so
callers copy it from the response; and its profile `save_*` sends no concurrency header when the
document has no ETag, which 1.0.3 forbids for creating a profile (Communication 3.1).
"""

from __future__ import annotations

import uuid

import httpx
from tincan import Activity, Agent, RemoteLRS
from tincan.documents import ActivityProfileDocument, AgentProfileDocument, StateDocument
from tincan.lrs_response import LRSResponse

from tests.conftest import LiveServer

ACTIVITY = "https://acbc.iom.int/courses/ibm-101"


def remote(server: LiveServer) -> RemoteLRS:
    return RemoteLRS(
        version="1.0.3",
        endpoint=server.url,
        username=server.credential.key,
        password=server.credential.secret,
    )


def learner() -> Agent:
    return Agent(name="Amina", mbox=f"mailto:amina-{uuid.uuid4().hex[:8]}@example.org")


def etag_of(response: LRSResponse) -> str:
    etag = response.response.getheader("etag")
    assert etag
    return str(etag)


def create_with_if_none_match(
    server: LiveServer, path: str, params: dict[str, str], body: bytes
) -> None:
    """What a conformant 1.0.3 client does to create a profile document."""
    response = httpx.put(
        f"{server.url}/{path}",
        params=params,
        content=body,
        auth=server.credential.auth,
        headers={
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
            "If-None-Match": "*",
        },
    )
    assert response.status_code == 204, response.text


def test_state_save_retrieve_list_and_delete(live_server: LiveServer) -> None:
    lrs = remote(live_server)
    agent, activity = learner(), Activity(id=ACTIVITY)
    bookmark = StateDocument(
        id="bookmark",
        activity=activity,
        agent=agent,
        content=bytearray(b'{"page": 7}'),
        content_type="application/json",
    )
    assert lrs.save_state(bookmark).success
    suspend = StateDocument(
        id="suspend_data", activity=activity, agent=agent, content=bytearray(b"a1b2")
    )
    assert lrs.save_state(suspend).success

    got = lrs.retrieve_state(activity, agent, "bookmark")
    assert got.success
    assert bytes(got.content.content) == b'{"page": 7}'
    assert got.response.getheader("content-type") == "application/json"

    ids = lrs.retrieve_state_ids(activity, agent)
    assert ids.success
    assert sorted(ids.content) == ["bookmark", "suspend_data"]

    assert lrs.delete_state(bookmark).success
    gone = lrs.retrieve_state(activity, agent, "bookmark")
    assert gone.response.status == 404

    assert lrs.clear_state(activity, agent).success
    assert lrs.retrieve_state_ids(activity, agent).content == []


def test_activity_profile_retrieve_update_list_and_delete(live_server: LiveServer) -> None:
    lrs = remote(live_server)
    activity = Activity(id=f"{ACTIVITY}/{uuid.uuid4()}")
    profile = ActivityProfileDocument(
        id="settings",
        activity=activity,
        content=bytearray(b'{"pass": 70}'),
        content_type="application/json",
    )
    refused = lrs.save_activity_profile(profile)
    assert refused.response.status == 400  # a 1.0.3 client must send If-None-Match to create
    create_with_if_none_match(
        live_server,
        "activities/profile",
        {"activityId": activity.id, "profileId": "settings"},
        b'{"pass": 70}',
    )

    got = lrs.retrieve_activity_profile(activity, "settings")
    assert got.success
    assert bytes(got.content.content) == b'{"pass": 70}'

    updated = got.content
    updated.etag = etag_of(got)
    updated.content = bytearray(b'{"pass": 80}')
    updated.content_type = "application/json"
    assert lrs.save_activity_profile(updated).success
    assert (
        bytes(lrs.retrieve_activity_profile(activity, "settings").content.content)
        == b'{"pass": 80}'
    )

    assert lrs.retrieve_activity_profile_ids(activity).content == ["settings"]

    stale = lrs.delete_activity_profile(updated)  # its ETag is the one before the update
    assert stale.response.status == 412
    current = lrs.retrieve_activity_profile(activity, "settings")
    updated.etag = etag_of(current)
    assert lrs.delete_activity_profile(updated).success
    assert lrs.retrieve_activity_profile_ids(activity).content == []


def test_agent_profile_retrieve_update_list_and_delete(live_server: LiveServer) -> None:
    lrs = remote(live_server)
    agent = learner()
    create_with_if_none_match(
        live_server,
        "agents/profile",
        {"agent": agent.to_json("1.0.3"), "profileId": "preferences"},
        b'{"language": "fr"}',
    )

    got = lrs.retrieve_agent_profile(agent, "preferences")
    assert got.success
    assert bytes(got.content.content) == b'{"language": "fr"}'

    without_etag = AgentProfileDocument(
        id="preferences",
        agent=agent,
        content=bytearray(b'{"language": "ar"}'),
        content_type="application/json",
    )
    assert lrs.save_agent_profile(without_etag).response.status == 409
    without_etag.etag = etag_of(got)
    assert lrs.save_agent_profile(without_etag).success
    assert (
        bytes(lrs.retrieve_agent_profile(agent, "preferences").content.content)
        == b'{"language": "ar"}'
    )

    assert lrs.retrieve_agent_profile_ids(agent).content == ["preferences"]

    latest = lrs.retrieve_agent_profile(agent, "preferences")
    without_etag.etag = etag_of(latest)
    assert lrs.delete_agent_profile(without_etag).success
    assert lrs.retrieve_agent_profile(agent, "preferences").response.status == 404
