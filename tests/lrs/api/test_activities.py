"""The Activities resource: the full Activity Object that statements defined (Communication 2.5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lrs.ops.context import LrsContext
from tests.conftest import make_credential, statement

URL = "/xapi/activities"
MEETING = "http://www.example.com/meetings/occurances/34534"


def activity(**definition: Any) -> dict[str, Any]:
    return {"objectType": "Activity", "id": MEETING, "definition": definition}


async def post(client: httpx.AsyncClient, *statements: dict[str, Any]) -> None:
    response = await client.post("/xapi/statements", json=list(statements))
    assert response.status_code == 200, response.text


async def test_the_activity_comes_back_as_a_statement_defined_it(client: httpx.AsyncClient) -> None:
    sent = activity(
        type="http://adlnet.gov/expapi/activities/meeting",
        name={"en-US": "example meeting"},
        moreInfo="http://virtualmeeting.example.com/345256",
        extensions={"http://example.com/profiles/meetings/extension/location": "X:\\meetings"},
    )
    await post(client, statement(object=sent))
    response = await client.get(URL, params={"activityId": MEETING})
    assert response.status_code == 200
    assert response.json() == sent


async def test_definitions_from_several_statements_are_combined(client: httpx.AsyncClient) -> None:
    await post(
        client,
        statement(object=activity(name={"en-US": "example meeting"})),
        statement(object=activity(name={"fr-FR": "réunion"}, description={"fr-FR": "une réunion"})),
    )
    definition = (await client.get(URL, params={"activityId": MEETING})).json()["definition"]
    assert definition["name"] == {"en-US": "example meeting", "fr-FR": "réunion"}
    assert definition["description"] == {"fr-FR": "une réunion"}


async def test_an_unknown_activity_is_still_an_activity_object(client: httpx.AsyncClient) -> None:
    unknown = "http://www.example.com/never-before-seen"
    response = await client.get(URL, params={"activityId": unknown})
    assert response.status_code == 200
    assert response.json() == {"objectType": "Activity", "id": unknown}


async def test_head_answers_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head(URL, params={"activityId": MEETING})
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "params", [{}, {"activityId": "true"}, {"activityId": MEETING, "agent": "{}"}]
)
async def test_bad_parameters_are_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert (await client.get(URL, params=params)).status_code == 400


async def test_reading_needs_a_credential_with_a_read_scope(
    anonymous: httpx.AsyncClient, lrs: LrsContext
) -> None:
    version = {"X-Experience-API-Version": "2.0.0"}
    no_auth = await anonymous.get(URL, params={"activityId": MEETING}, headers=version)
    assert no_auth.status_code == 401
    writer = await make_credential(lrs, ["statements/write"])
    forbidden = await anonymous.get(
        URL, params={"activityId": MEETING}, headers=version, auth=writer.auth
    )
    assert forbidden.status_code == 403
    reader = await make_credential(lrs, ["statements/read"])
    allowed = await anonymous.get(
        URL, params={"activityId": MEETING}, headers=version, auth=reader.auth
    )
    assert allowed.status_code == 200
