"""The About resource: which xAPI versions this LRS serves (Communication 2.7)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.api._http import json_response
from lrs.api.version import SUPPORTED


async def get_about(request: Request) -> Response:
    return json_response({"version": list(SUPPORTED), "extensions": {}})
