"""The Agents resource: GET /xapi/agents?agent= returns a Person object (Communication 2.4)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.api import _http
from lrs.api.auth import READ_PROFILE, READ_STATEMENTS, authorize
from lrs.ops.agents import get_person
from lrs.ops.context import LrsContext
from lrs.xapi.documents import parse_person_agent

# A Person gathers the names statements gave the agent, so reading statements also allows it.
READ_PEOPLE = READ_PROFILE | (READ_STATEMENTS - {"statements/read/mine"})


async def get_agent(request: Request) -> Response:
    await authorize(request, READ_PEOPLE, "read agents")
    agent = parse_person_agent(_http.query_params(request), _http.xapi_version(request))
    ctx: LrsContext = request.app.state.lrs
    return _http.json_response(await get_person(ctx, agent), 200)
