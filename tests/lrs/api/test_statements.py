"""The Statement resource as its users exercise it: write, void, read, filter, page (Comm. 2.1)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tests.conftest import Credential, statement

AMINA = {"objectType": "Agent", "mbox": "mailto:amina@example.org", "name": "Amina"}
BOB = {"objectType": "Agent", "mbox": "mailto:bob@example.org", "name": "Bob"}
CHEN = {"objectType": "Agent", "account": {"homePage": "https://moodle.acbc.iom.int", "name": "42"}}
TEAM = {
    "objectType": "Group",
    "name": "Cohort 3",
    "mbox": "mailto:cohort3@example.org",
    "member": [BOB, CHEN],
}
COURSE = "https://acbc.iom.int/courses/ibm-101"
MODULE = "https://acbc.iom.int/courses/ibm-101/module-1"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
URL = "/xapi/statements"


# --- helpers ---------------------------------------------------------------------------------


async def post(client: httpx.AsyncClient, *statements: dict[str, Any]) -> list[str]:
    response = await client.post(URL, json=list(statements))
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()
    return ids


async def get_one(client: httpx.AsyncClient, statement_id: str, **params: str) -> dict[str, Any]:
    response = await client.get(URL, params={"statementId": statement_id, **params})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def query(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    """Every statement the query matches, following `more` to the end."""
    response = await client.get(URL, params=params)
    found: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        found += response.json()["statements"]
        more = response.json()["more"]
        if not more:
            return found
        response = await client.get(more)


async def query_ids(client: httpx.AsyncClient, **params: str) -> list[str]:
    return [s["id"] for s in await query(client, **params)]


def agent_param(agent: dict[str, Any]) -> str:
    return json.dumps(agent)


def referring(target_id: str, actor: dict[str, Any], verb: dict[str, Any]) -> dict[str, Any]:
    """A statement whose object is a StatementRef to `target_id`."""
    return statement(actor=actor, verb=verb, object={"objectType": "StatementRef", "id": target_id})


def voiding(target_id: str, actor: dict[str, Any] = AMINA) -> dict[str, Any]:
    return referring(target_id, actor, {"id": VOIDED, "display": {"en-US": "voided"}})


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- writing -----------------------------------------------------------------------------------


async def test_post_assigns_ids_in_order_and_stamps_what_the_lrs_owns(
    client: httpx.AsyncClient,
) -> None:
    sent = [statement(), statement(actor=BOB), statement(actor=CHEN)]
    ids = await post(client, *sent)
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(uuid.UUID(i) for i in ids)
    for statement_id, original in zip(ids, sent, strict=True):
        got = await get_one(client, statement_id)
        assert got["actor"] == original["actor"]
        assert got["version"] == "1.0.0"
        assert iso(got["stored"]).tzinfo is not None
        assert got["timestamp"] == got["stored"]  # no timestamp given: stored is used (Data 2.4.7)
        assert got["authority"]["objectType"] == "Agent"
        assert "account" in got["authority"]


async def test_authority_sent_by_the_client_is_replaced(
    client: httpx.AsyncClient, credential: Credential
) -> None:
    forged = {"objectType": "Agent", "mbox": "mailto:director@example.org"}
    (statement_id,) = await post(client, statement(authority=forged))
    authority = (await get_one(client, statement_id))["authority"]
    # The credential that stored the statement vouches for it (Data 2.4.9).
    assert authority["account"]["name"] == credential.key
    assert "mbox" not in authority


async def test_put_stores_under_the_statement_id(client: httpx.AsyncClient) -> None:
    statement_id = str(uuid.uuid4())
    put = await client.put(URL, params={"statementId": statement_id}, json=statement())
    assert put.status_code == 204
    assert put.content == b""
    assert (await get_one(client, statement_id))["id"] == statement_id


async def test_version_2_statements_get_version_2(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL, json=statement(), headers={"X-Experience-API-Version": "2.0.0"}
    )
    assert response.status_code == 200
    assert (await get_one(client, response.json()[0]))["version"] == "2.0.0"


async def test_bad_put_is_400_and_stores_nothing(client: httpx.AsyncClient) -> None:
    cases: dict[str, tuple[dict[str, str], Any]] = {
        "no statementId": ({}, statement()),
        "not a UUID": ({"statementId": "not-a-uuid"}, statement()),
        "id differs": ({"statementId": str(uuid.uuid4())}, statement(id=str(uuid.uuid4()))),
        "array": ({"statementId": str(uuid.uuid4())}, [statement()]),
        "extra parameter": ({"statementId": str(uuid.uuid4()), "verb": COMPLETED}, statement()),
    }
    for case, (params, body) in cases.items():
        response = await client.put(URL, params=params, json=body)
        assert response.status_code == 400, case
        assert response.json()["message"], case
    assert await query(client) == []


async def test_post_takes_no_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, params={"statementId": str(uuid.uuid4())}, json=statement())
    assert response.status_code == 400
    assert await query(client) == []


async def test_sending_the_same_statement_again_is_accepted_once(client: httpx.AsyncClient) -> None:
    statement_id = str(uuid.uuid4())
    # No timestamp: the LRS fills it from `stored`, which must not make the resend differ.
    body = statement(id=statement_id)
    first = await client.put(URL, params={"statementId": statement_id}, json=body)
    await asyncio.sleep(0.005)
    again = await client.put(URL, params={"statementId": statement_id}, json=body)
    assert (first.status_code, again.status_code) == (204, 204)
    # A verb display and activity definition are not part of what the statement asserts.
    relabelled = {**body, "verb": {**body["verb"], "display": {"fr": "a terminé"}}}
    resent, other = await post(client, relabelled, statement())
    assert resent == statement_id
    assert sorted(await query_ids(client)) == sorted([statement_id, other])


async def test_same_id_with_other_content_is_409_and_the_first_stays(
    client: httpx.AsyncClient,
) -> None:
    statement_id = str(uuid.uuid4())
    await post(client, statement(id=statement_id))
    response = await client.put(
        URL, params={"statementId": statement_id}, json=statement(actor=BOB)
    )
    assert response.status_code == 409
    assert response.json()["message"]
    assert (await get_one(client, statement_id))["actor"] == AMINA


async def test_conflict_in_a_batch_stores_none_of_it(client: httpx.AsyncClient) -> None:
    statement_id = str(uuid.uuid4())
    await post(client, statement(id=statement_id))
    batch = [statement(actor=BOB), statement(id=statement_id, actor=BOB), statement(actor=CHEN)]
    response = await client.post(URL, json=batch)
    assert response.status_code == 409
    assert await query_ids(client) == [statement_id]


async def test_one_bad_statement_in_a_batch_of_50_stores_nothing(client: httpx.AsyncClient) -> None:
    batch = [statement(context={"registration": str(uuid.uuid4())}) for _ in range(50)]
    batch[37]["verb"] = {"id": "not an IRI"}
    response = await client.post(URL, json=batch)
    assert response.status_code == 400
    assert "statements[37]" in response.json()["message"]
    assert await query(client) == []


async def test_a_batch_naming_one_id_twice_is_rejected(client: httpx.AsyncClient) -> None:
    statement_id = str(uuid.uuid4())
    response = await client.post(URL, json=[statement(id=statement_id), statement(id=statement_id)])
    assert response.status_code == 400
    assert await query(client) == []


async def test_the_same_id_sent_at_once_is_stored_once(client: httpx.AsyncClient) -> None:
    # A client retrying on a timeout can race its own first attempt.
    statement_id = str(uuid.uuid4())
    same = await asyncio.gather(
        *(client.put(URL, params={"statementId": statement_id}, json=statement()) for _ in range(5))
    )
    assert [r.status_code for r in same] == [204] * 5
    other_id = str(uuid.uuid4())
    differing = await asyncio.gather(
        *(
            client.post(
                URL,
                json=[statement(actor=BOB), statement(id=other_id, result={"score": {"raw": n}})],
            )
            for n in range(4)
        )
    )
    assert sorted(r.status_code for r in differing) == [200, 409, 409, 409]
    assert len(await query_ids(client)) == 3  # the first id, and the winning batch


async def test_a_statement_cannot_be_stored_nested_beyond_reason(client: httpx.AsyncClient) -> None:
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"level": deep}
    response = await client.post(
        URL, json=statement(result={"extensions": {"https://x.org/e": deep}})
    )
    assert response.status_code == 400
    assert await query(client) == []


# --- voiding (Data 2.3.2, Communication 2.1.4) ------------------------------------------------


async def test_a_voided_statement_leaves_queries_but_stays_readable(
    client: httpx.AsyncClient,
) -> None:
    target, keep = await post(client, statement(), statement(verb={"id": ATTEMPTED}))
    (voider,) = await post(client, voiding(target))
    assert (await client.get(URL, params={"statementId": target})).status_code == 404
    by_voided_id = await client.get(URL, params={"voidedStatementId": target})
    assert by_voided_id.status_code == 200
    assert by_voided_id.json()["id"] == target
    # The voiding statement itself is an ordinary statement.
    assert (await client.get(URL, params={"voidedStatementId": voider})).status_code == 404
    assert (await get_one(client, voider))["object"]["id"] == target
    assert set(await query_ids(client)) == {keep, voider}
    # The voiding statement targets a `completed` statement, so that filter finds it (2.1.3).
    assert await query_ids(client, verb=COMPLETED) == [voider]


async def test_a_voiding_statement_cannot_be_voided(client: httpx.AsyncClient) -> None:
    (target,) = await post(client, statement())
    (voider,) = await post(client, voiding(target))
    response = await client.post(URL, json=voiding(voider))
    assert response.status_code == 400
    assert (await get_one(client, voider))["id"] == voider
    assert set(await query_ids(client)) == {voider}


async def test_voiding_in_the_same_batch_as_the_target(client: httpx.AsyncClient) -> None:
    target = str(uuid.uuid4())
    _, voider = await post(client, statement(id=target), voiding(target))
    assert await query_ids(client) == [voider]
    assert (await client.get(URL, params={"voidedStatementId": target})).status_code == 200


async def test_a_target_arriving_after_its_voiding_statement_is_stored_voided(
    client: httpx.AsyncClient,
) -> None:
    target = str(uuid.uuid4())
    (voider,) = await post(client, voiding(target))
    await post(client, statement(id=target))
    assert (await client.get(URL, params={"statementId": target})).status_code == 404
    assert (await client.get(URL, params={"voidedStatementId": target})).status_code == 200
    assert await query_ids(client) == [voider]


# --- reading one statement ---------------------------------------------------------------------


async def test_unknown_statement_is_404_with_a_message(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"statementId": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["message"]


async def test_statement_ids_are_matched_case_insensitively(client: httpx.AsyncClient) -> None:
    (statement_id,) = await post(client, statement())
    assert (await get_one(client, statement_id.upper()))["id"] == statement_id


async def test_statement_id_with_another_filter_is_400(client: httpx.AsyncClient) -> None:
    (statement_id,) = await post(client, statement())
    for extra in (
        {"agent": agent_param(AMINA)},
        {"verb": COMPLETED},
        {"limit": "1"},
        {"ascending": "true"},
        {"since": "2020-01-01T00:00:00Z"},
        {"registration": str(uuid.uuid4())},
        {"voidedStatementId": str(uuid.uuid4())},
    ):
        response = await client.get(URL, params={"statementId": statement_id, **extra})
        assert response.status_code == 400, extra
        assert response.json()["message"], extra


async def test_statement_id_allows_format_and_attachments(client: httpx.AsyncClient) -> None:
    (statement_id,) = await post(client, statement())
    got = await get_one(client, statement_id, format="ids", attachments="false")
    assert got["actor"] == {"objectType": "Agent", "mbox": AMINA["mbox"]}


async def test_unknown_or_malformed_parameters_are_400(client: httpx.AsyncClient) -> None:
    for params in (
        {"actor": agent_param(AMINA)},
        {"statementid": str(uuid.uuid4())},
        {"page": "2"},
        {"agent": "amina@example.org"},
        {"agent": json.dumps({"name": "no identifier"})},
        {"verb": "completed"},
        {"activity": "not an iri"},
        {"registration": "123"},
        {"since": "yesterday"},
        {"until": "2024-01-01T00:00:00"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"ascending": "yes"},
        {"format": "full"},
        {"attachments": "1"},
        {"related_agents": "maybe"},
        {"more": "not-a-token"},
    ):
        response = await client.get(URL, params=params)
        assert response.status_code == 400, params
        assert response.json()["message"], params
    repeated = await client.get(f"{URL}?verb={COMPLETED}&verb={ATTEMPTED}")
    assert repeated.status_code == 400


async def test_head_answers_like_get_without_a_body(client: httpx.AsyncClient) -> None:
    (statement_id,) = await post(client, statement())
    for params in ({"statementId": statement_id}, {"verb": COMPLETED}):
        got = await client.get(URL, params=params)
        head = await client.head(URL, params=params)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["last-modified"] == got.headers["last-modified"]
        assert "x-experience-api-consistent-through" in head.headers
    missing = await client.head(URL, params={"statementId": str(uuid.uuid4())})
    assert missing.status_code == 404


# --- headers -----------------------------------------------------------------------------------


async def test_consistent_through_and_last_modified(client: httpx.AsyncClient) -> None:
    (first,) = await post(client, statement())
    await asyncio.sleep(0.01)
    (second,) = await post(client, statement(actor=BOB))
    newest = iso((await get_one(client, second))["stored"])
    response = await client.get(URL)
    consistent = iso(response.headers["x-experience-api-consistent-through"])
    assert consistent >= newest
    # Last-Modified (HTTP date, whole seconds) is when the newest returned statement was stored.
    last_modified = parsedate_to_datetime(response.headers["last-modified"])
    assert last_modified == newest.replace(microsecond=0)
    single = await client.get(URL, params={"statementId": first})
    oldest = iso(single.json()["stored"])
    assert parsedate_to_datetime(single.headers["last-modified"]) == oldest.replace(microsecond=0)
    for write in (
        await client.post(URL, json=statement()),
        await client.put(URL, params={"statementId": str(uuid.uuid4())}, json=statement()),
    ):
        assert iso(write.headers["x-experience-api-consistent-through"]) >= newest


async def test_an_empty_result_is_200_with_no_statements(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"verb": COMPLETED})
    assert response.status_code == 200
    assert response.json() == {"statements": [], "more": ""}
    assert "x-experience-api-consistent-through" in response.headers


# --- filters (Communication 2.1.3) --------------------------------------------------------------


async def test_agent_matches_actor_object_and_group_members(client: httpx.AsyncClient) -> None:
    by_amina, about_amina, by_team, by_bob = await post(
        client,
        statement(),
        statement(actor=BOB, verb={"id": "http://adlnet.gov/expapi/verbs/mentored"}, object=AMINA),
        statement(actor=TEAM),
        statement(actor=BOB),
    )
    assert set(await query_ids(client, agent=agent_param(AMINA))) == {by_amina, about_amina}
    # Groups whose members match the agent match too (2.1.3, `agent`).
    assert set(await query_ids(client, agent=agent_param(CHEN))) == {by_team}
    assert set(await query_ids(client, agent=agent_param(BOB))) == {about_amina, by_team, by_bob}
    team_ifi = {"objectType": "Group", "mbox": TEAM["mbox"]}
    assert await query_ids(client, agent=agent_param(team_ifi)) == [by_team]
    # Matching is by identifier alone: a different name is the same agent.
    renamed = {**AMINA, "name": "A. Hassan"}
    assert set(await query_ids(client, agent=agent_param(renamed))) == {by_amina, about_amina}


async def test_related_agents_reaches_context_authority_and_substatements(
    client: httpx.AsyncClient,
) -> None:
    taught, in_team, sub = await post(
        client,
        statement(context={"instructor": BOB}),
        statement(context={"team": {**TEAM, "member": [CHEN]}}),
        statement(
            object={
                "objectType": "SubStatement",
                "actor": BOB,
                "verb": {"id": COMPLETED},
                "object": {"id": MODULE},
            }
        ),
    )
    assert await query_ids(client, agent=agent_param(BOB)) == []
    assert set(await query_ids(client, agent=agent_param(BOB), related_agents="true")) == {
        taught,
        sub,
    }
    assert await query_ids(client, agent=agent_param(CHEN), related_agents="true") == [in_team]
    authority = (await get_one(client, taught))["authority"]
    everything = await query_ids(client, agent=agent_param(authority), related_agents="true")
    assert set(everything) == {taught, in_team, sub}
    assert await query_ids(client, agent=agent_param(authority)) == []


async def test_verb_filter(client: httpx.AsyncClient) -> None:
    completed, attempted = await post(client, statement(), statement(verb={"id": ATTEMPTED}))
    assert await query_ids(client, verb=COMPLETED) == [completed]
    assert await query_ids(client, verb=ATTEMPTED) == [attempted]
    assert await query_ids(client, verb="http://adlnet.gov/expapi/verbs/passed") == []


async def test_activity_and_related_activities(client: httpx.AsyncClient) -> None:
    on_course, in_course, sub = await post(
        client,
        statement(),
        statement(
            object={"id": MODULE},
            context={
                "contextActivities": {
                    "parent": [{"id": COURSE}],
                    "grouping": {"id": "https://acbc.iom.int"},
                }
            },
        ),
        statement(
            actor=BOB,
            verb={"id": "http://adlnet.gov/expapi/verbs/asked"},
            object={
                "objectType": "SubStatement",
                "actor": AMINA,
                "verb": {"id": COMPLETED},
                "object": {"id": "https://acbc.iom.int/courses/other"},
                "context": {"contextActivities": {"category": [{"id": COURSE}]}},
            },
        ),
    )
    assert await query_ids(client, activity=COURSE) == [on_course]
    assert set(await query_ids(client, activity=COURSE, related_activities="true")) == {
        on_course,
        in_course,
        sub,
    }
    assert await query_ids(client, activity=MODULE) == [in_course]
    # A single context activity object (not in an array) counts too.
    grouped = await query_ids(client, activity="https://acbc.iom.int", related_activities="true")
    assert grouped == [in_course]


async def test_registration_filter(client: httpx.AsyncClient) -> None:
    registration = str(uuid.uuid4())
    registered, _ = await post(
        client,
        statement(context={"registration": registration}),
        statement(context={"registration": str(uuid.uuid4())}),
    )
    assert await query_ids(client, registration=registration) == [registered]
    assert await query_ids(client, registration=registration.upper()) == [registered]


async def test_filters_combine(client: httpx.AsyncClient) -> None:
    registration = str(uuid.uuid4())
    wanted, *_ = await post(
        client,
        statement(context={"registration": registration}),
        statement(actor=BOB, context={"registration": registration}),
        statement(verb={"id": ATTEMPTED}, context={"registration": registration}),
        statement(),
    )
    found = await query_ids(
        client, agent=agent_param(AMINA), verb=COMPLETED, activity=COURSE, registration=registration
    )
    assert found == [wanted]


async def test_since_is_exclusive_and_until_inclusive(client: httpx.AsyncClient) -> None:
    (early,) = await post(client, statement())
    await asyncio.sleep(0.01)
    (late,) = await post(client, statement(actor=BOB))
    early_stored = (await get_one(client, early))["stored"]
    assert await query_ids(client, since=early_stored) == [late]
    assert await query_ids(client, until=early_stored) == [early]
    assert await query_ids(client, since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
    # Another offset naming the same instant.
    stored = iso(early_stored)
    assert await query_ids(client, until=stored.astimezone().isoformat()) == [early]


async def test_limit_and_ascending(client: httpx.AsyncClient) -> None:
    ids = []
    for actor in (AMINA, BOB, CHEN):
        ids += await post(client, statement(actor=actor))
    newest_first = await client.get(URL, params={"limit": "2"})
    assert [s["id"] for s in newest_first.json()["statements"]] == ids[::-1][:2]
    assert newest_first.json()["more"]
    oldest_first = await client.get(URL, params={"limit": "2", "ascending": "true"})
    assert [s["id"] for s in oldest_first.json()["statements"]] == ids[:2]
    everything = await client.get(URL, params={"limit": "0"})
    assert [s["id"] for s in everything.json()["statements"]] == ids[::-1]
    assert everything.json()["more"] == ""


async def test_statement_refs_are_found_through_their_targets(client: httpx.AsyncClient) -> None:
    registration = str(uuid.uuid4())
    (target,) = await post(client, statement(context={"registration": registration}))
    (comment,) = await post(
        client,
        referring(target, BOB, {"id": "http://adlnet.gov/expapi/verbs/commented"}),
    )
    assert set(await query_ids(client, agent=agent_param(AMINA))) == {target, comment}
    assert set(await query_ids(client, verb=COMPLETED)) == {target, comment}
    assert set(await query_ids(client, activity=COURSE)) == {target, comment}
    assert set(await query_ids(client, registration=registration)) == {target, comment}
    # The referring statement's own properties still count.
    assert await query_ids(client, agent=agent_param(BOB)) == [comment]
    # The rule applies recursively: a reply to the comment matches through both (2.1.3).
    await asyncio.sleep(0.005)
    (reply,) = await post(
        client,
        referring(comment, CHEN, {"id": "http://adlnet.gov/expapi/verbs/responded"}),
    )
    assert set(await query_ids(client, registration=registration)) == {target, comment, reply}
    assert set(await query_ids(client, agent=agent_param(BOB))) == {comment, reply}
    # `since` applies to the referring statement itself, not its target.
    comment_stored = (await get_one(client, comment))["stored"]
    assert await query_ids(client, activity=COURSE, since=comment_stored) == [reply]


async def test_a_statement_ref_stored_before_its_target_is_found_through_it(
    client: httpx.AsyncClient,
) -> None:
    """A site syncing late: the trainer's confirmation arrives before the learner's record it
    targets. Once the record is stored, filters that match it match the confirmation too, and
    a reply to the confirmation (2.1.3, recursively)."""
    target = str(uuid.uuid4())
    registration = str(uuid.uuid4())
    (confirmation,) = await post(
        client,
        referring(target, BOB, {"id": "http://adlnet.gov/expapi/verbs/confirmed"}),
    )
    (reply,) = await post(
        client,
        referring(confirmation, CHEN, {"id": "http://adlnet.gov/expapi/verbs/responded"}),
    )
    assert await query_ids(client, registration=registration) == []
    await post(client, statement(id=target, context={"registration": registration}))

    expected = {target, confirmation, reply}
    assert set(await query_ids(client, registration=registration)) == expected
    assert set(await query_ids(client, agent=agent_param(AMINA))) == expected
    assert set(await query_ids(client, verb=COMPLETED)) == expected
    assert set(await query_ids(client, activity=COURSE, related_activities="true")) == expected
    # Their own properties still count, and only theirs for what the target lacks.
    assert set(await query_ids(client, agent=agent_param(BOB))) == {confirmation, reply}


async def test_a_target_and_its_statement_ref_in_one_batch_find_each_other(
    client: httpx.AsyncClient,
) -> None:
    """Whatever their order in the batch."""
    target = str(uuid.uuid4())
    registration = str(uuid.uuid4())
    ref = statement(actor=BOB, object={"objectType": "StatementRef", "id": target})
    await post(client, ref, statement(id=target, context={"registration": registration}))
    assert len(await query_ids(client, registration=registration)) == 2


async def test_statements_voiding_a_match_are_returned_by_the_filter(
    client: httpx.AsyncClient,
) -> None:
    (target,) = await post(client, statement())
    (voider,) = await post(client, voiding(target, actor=BOB))
    assert await query_ids(client, activity=COURSE) == [voider]
    assert await query_ids(client, agent=agent_param(AMINA)) == [voider]


# --- formats ---------------------------------------------------------------------------------


def _defined_statement() -> dict[str, Any]:
    return statement(
        verb={"id": COMPLETED, "display": {"en-US": "completed", "fr-FR": "a terminé"}},
        object={
            "id": COURSE,
            "objectType": "Activity",
            "definition": {
                "name": {"en-US": "Border management", "fr-FR": "Gestion des frontières"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
        context={
            "contextActivities": {
                "parent": [
                    {
                        "id": "https://acbc.iom.int",
                        "definition": {"name": {"en-US": "ACBC", "fr-FR": "CACF"}},
                    }
                ]
            }
        },
    )


async def test_exact_format_returns_the_statement_as_sent(client: httpx.AsyncClient) -> None:
    sent = _defined_statement()
    (statement_id,) = await post(client, sent)
    got = await get_one(client, statement_id, format="exact")
    assert {k: got[k] for k in sent} == sent
    assert set(got) - set(sent) == {"id", "stored", "timestamp", "authority", "version"}


async def test_ids_format_keeps_only_identifiers(client: httpx.AsyncClient) -> None:
    (statement_id,) = await post(client, {**_defined_statement(), "actor": TEAM})
    (got,) = await query(client, format="ids")
    assert got["id"] == statement_id
    assert got["actor"] == {"objectType": "Group", "mbox": TEAM["mbox"]}
    assert got["verb"] == {"id": COMPLETED}
    assert got["object"] == {"id": COURSE}
    assert got["context"]["contextActivities"]["parent"] == [{"id": "https://acbc.iom.int"}]
    anonymous_team = {"objectType": "Group", "member": [AMINA, CHEN]}
    await post(client, statement(actor=anonymous_team))
    newest = (await query(client, format="ids", limit="1"))[0]
    # An anonymous group is identified by its members (2.1.3, `format`).
    assert newest["actor"]["member"] == [{"objectType": "Agent", "mbox": AMINA["mbox"]}, CHEN]


async def test_canonical_format_uses_the_lrs_definition_in_the_asked_language(
    client: httpx.AsyncClient,
) -> None:
    (first,) = await post(client, _defined_statement())
    # A later statement adds a description: the canonical definition now has it.
    described = {"description": {"en-US": "Five modules", "fr-FR": "Cinq modules"}}
    await post(client, statement(object={"id": COURSE, "definition": described}))
    french = await client.get(
        URL, params={"statementId": first, "format": "canonical"}, headers={"Accept-Language": "fr"}
    )
    got = french.json()
    assert got["verb"]["display"] == {"fr-FR": "a terminé"}
    assert got["object"]["definition"]["name"] == {"fr-FR": "Gestion des frontières"}
    assert got["object"]["definition"]["description"] == {"fr-FR": "Cinq modules"}
    assert got["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {
        "fr-FR": "CACF"
    }
    assert got["actor"] == AMINA
    english = await get_one(client, first, format="canonical")
    assert english["object"]["definition"]["name"] in (
        {"en-US": "Border management"},
        {"fr-FR": "Gestion des frontières"},
    )
    weighted = await client.get(
        URL,
        params={"statementId": first, "format": "canonical"},
        headers={"Accept-Language": "de;q=1, en-US;q=0.8, fr;q=0.5"},
    )
    assert weighted.json()["object"]["definition"]["name"] == {"en-US": "Border management"}


async def test_attachments_come_back_multipart_only_when_asked(client: httpx.AsyncClient) -> None:
    content = b"Certificate of completion: Amina"
    sha2 = hashlib.sha256(content).hexdigest()
    attached = statement(
        attachments=[
            {
                "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
                "display": {"en-US": "Certificate"},
                "contentType": "text/plain",
                "length": len(content),
                "sha2": sha2,
            }
        ]
    )
    boundary = "acbc-boundary-7f3a"
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(attached)}\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {sha2}\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    posted = await client.post(
        URL, content=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}
    )
    assert posted.status_code == 200, posted.text
    (statement_id,) = posted.json()
    plain = await client.get(URL, params={"statementId": statement_id})
    assert plain.headers["content-type"].startswith("application/json")
    assert content not in plain.content
    for params in ({"statementId": statement_id, "attachments": "true"}, {"attachments": "true"}):
        multipart = await client.get(URL, params=params)
        assert multipart.status_code == 200
        assert multipart.headers["content-type"].startswith("multipart/mixed")
        assert content in multipart.content
        assert sha2.encode() in multipart.content
        assert statement_id.encode() in multipart.content


# --- paging with `more` --------------------------------------------------------------------------


async def test_more_pages_through_hundreds_without_gaps_or_duplicates(
    client: httpx.AsyncClient,
) -> None:
    stored: list[str] = []
    for batch in range(6):
        stored += await post(
            client, *(statement(result={"score": {"raw": batch * 50 + n}}) for n in range(50))
        )
    await post(client, *(statement(actor=BOB) for _ in range(20)))
    for ascending in ("false", "true"):
        response = await client.get(
            URL, params={"agent": agent_param(AMINA), "limit": "37", "ascending": ascending}
        )
        seen: list[str] = []
        pages = 0
        while True:
            body = response.json()
            assert len(body["statements"]) <= 37
            seen += [s["id"] for s in body["statements"]]
            pages += 1
            if not body["more"]:
                break
            assert body["more"].startswith("/xapi/statements?more=")
            response = await client.get(body["more"])
            assert response.status_code == 200
        assert pages == 9
        assert seen == (stored if ascending == "true" else stored[::-1])


async def test_more_is_stable_while_statements_arrive(client: httpx.AsyncClient) -> None:
    first = await post(client, *(statement() for _ in range(10)))
    page = (await client.get(URL, params={"limit": "4"})).json()
    await post(client, *(statement() for _ in range(5)))
    seen = [s["id"] for s in page["statements"]]
    while page["more"]:
        page = (await client.get(page["more"])).json()
        seen += [s["id"] for s in page["statements"]]
    assert seen == first[::-1]


async def test_more_cannot_be_combined_with_other_parameters(client: httpx.AsyncClient) -> None:
    await post(client, *(statement() for _ in range(3)))
    more = (await client.get(URL, params={"limit": "1"})).json()["more"]
    response = await client.get(more + "&verb=" + COMPLETED)
    assert response.status_code == 400
