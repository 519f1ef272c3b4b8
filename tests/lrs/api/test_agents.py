"""The Agents resource: a Person object with what the LRS knows of an Agent (Communication 2.4)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from lrs.ops.context import LrsContext
from tests.conftest import make_credential, statement

URL = "/xapi/agents"
AMINA = {"objectType": "Agent", "mbox": "mailto:amina@example.org"}
MOODLE_USER = {"account": {"homePage": "https://moodle.acbc.iom.int", "name": "42"}}


def agent_param(agent: dict[str, Any]) -> dict[str, str]:
    return {"agent": orjson.dumps(agent).decode()}


async def post(client: httpx.AsyncClient, *statements: dict[str, Any]) -> None:
    response = await client.post("/xapi/statements", json=list(statements))
    assert response.status_code == 200, response.text


async def test_an_unknown_agent_gets_a_person_from_the_request(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params=agent_param({**AMINA, "name": "Amina"}))
    assert response.status_code == 200
    assert response.json() == {
        "objectType": "Person",
        "name": ["Amina"],
        "mbox": ["mailto:amina@example.org"],
    }


async def test_the_person_carries_every_name_statements_gave_the_agent(
    client: httpx.AsyncClient,
) -> None:
    await post(
        client,
        statement(actor={**AMINA, "name": "Amina"}),
        statement(actor={**AMINA, "name": "Amina Bello"}),
        statement(actor={"mbox": "mailto:bob@example.org", "name": "Bob"}),
        statement(
            actor={"mbox": "mailto:bob@example.org", "name": "Bob"},
            verb={"id": "http://adlnet.gov/expapi/verbs/mentored"},
            object={**AMINA, "name": "A. Bello"},
        ),
    )
    person = (await client.get(URL, params=agent_param(AMINA))).json()
    assert sorted(person["name"]) == ["A. Bello", "Amina", "Amina Bello"]
    assert person["mbox"] == ["mailto:amina@example.org"]


async def test_an_account_agent_gets_an_account_array(client: httpx.AsyncClient) -> None:
    await post(client, statement(actor={**MOODLE_USER, "name": "Chen"}))
    person = (await client.get(URL, params=agent_param(MOODLE_USER))).json()
    assert person == {"objectType": "Person", "name": ["Chen"], "account": [MOODLE_USER["account"]]}


async def test_head_answers_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head(URL, params=agent_param(AMINA))
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"agent": "not JSON"},
        agent_param({"objectType": "Agent", "name": "no identifier"}),
        agent_param({"objectType": "Group", "mbox": "mailto:team@example.org"}),
        {**agent_param(AMINA), "profileId": "p"},
    ],
)
async def test_bad_parameters_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert (await client.get(URL, params=params)).status_code == 400


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["profile"], 200),
        (["statements/read"], 200),
        (["state"], 403),
        (["statements/read/mine"], 403),
    ],
)
async def test_scopes(
    anonymous: httpx.AsyncClient, lrs: LrsContext, scopes: list[str], status: int
) -> None:
    credential = await make_credential(lrs, scopes)
    response = await anonymous.get(
        URL,
        params=agent_param(AMINA),
        auth=credential.auth,
        headers={"X-Experience-API-Version": "1.0.3"},
    )
    assert response.status_code == status
