"""The Activities resource: GET /xapi/activities?activityId= (Communication 2.5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.api import _http
from lrs.api.auth import READ_DEFINITIONS, authorize
from lrs.ops.activities import get_activity as find_activity
from lrs.ops.context import LrsContext
from lrs.xapi.documents import parse_activity_id


async def get_activity(request: Request) -> Response:
    await authorize(request, READ_DEFINITIONS, "read activity definitions")
    activity_id = parse_activity_id(_http.query_params(request))
    ctx: LrsContext = request.app.state.lrs
    activity = await find_activity(ctx, activity_id)
    return _http.json_response(activity, 200)
