"""The About resource: which xAPI versions this LRS serves (Communication 2.8)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lrs.api._http import json_response
from lrs.api.version import SUPPORTED, normalise_version


def versions_for(requested: str | None) -> list[str]:
    """Every version served; a client that names 1.0.x is told only of 1.0.x.

    1.0.x clients such as TinCanPython refuse an About listing a version they do not know,
    and a 1.0.x client cannot use a 2.0.0 answer anyway.
    """
    if normalise_version(requested) == "1.0.3":
        return [v for v in SUPPORTED if v.startswith("1.0")]
    return list(SUPPORTED)


async def get_about(request: Request) -> Response:
    requested = request.headers.get("x-experience-api-version")
    return json_response({"version": versions_for(requested), "extensions": {}})
