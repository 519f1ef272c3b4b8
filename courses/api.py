"""The progress API under /api/v1: HTTP only (parse, call one op, shape the answer).

JSON by default, CSV with `?format=csv`; every call but POST /auth/token needs a bearer token.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from courses import _views, auth, ops, ops_learners
from courses._store_progress import ProgressFilter
from lrs.api._http import json_response, parse_json, query_params, read_body
from lrs.errors import BadRequest

Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY = 64 * 1024
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
BEARER_CHALLENGE = 'Bearer realm="acbc-lrs", error="invalid_token"'


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    """Query parameters, refusing any this resource does not know (never silently ignored)."""
    params = query_params(request)
    unknown = sorted(set(params) - allowed - {"format"})
    if unknown:
        known = ", ".join(sorted(allowed | {"format"}))
        raise BadRequest(f"unknown parameter(s): {', '.join(unknown)} (known: {known})")
    if params.get("format", "json") not in ("json", "csv"):
        raise BadRequest(f"format: must be json or csv, got {params['format']!r}")
    return params


def _answer(
    request: Request, params: dict[str, str], document: Any, as_csv: Callable[[], str]
) -> Response:
    language = _views.pick_language(request.headers.get("accept-language"))
    headers = {"Content-Language": language, "Vary": "Accept-Language"}
    if params.get("format") == "csv":
        return Response(as_csv(), 200, headers, media_type="text/csv; charset=utf-8")
    return json_response(document, 200, headers)


def _instant_param(name: str, value: str, end_of_day: bool) -> int:
    """A date (a whole day, UTC) or an ISO 8601 timestamp with a zone, as epoch ms."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.min, UTC) + (
                timedelta(days=1, milliseconds=-1) if end_of_day else timedelta()
            )
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{name}: must be a date (2026-03-01) or an ISO 8601 timestamp, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name}: a timestamp needs a timezone (Z or +01:00), got {value!r}")
    return int(moment.timestamp() * 1000)


def parse_progress_filter(params: dict[str, str]) -> ProgressFilter:
    since = _instant_param("since", params["since"], False) if "since" in params else None
    until = _instant_param("until", params["until"], True) if "until" in params else None
    if since is not None and until is not None and since > until:
        raise BadRequest("since: must not be after until")
    country = params.get("country")
    if country is not None and not COUNTRY.match(country):
        raise BadRequest(f"country: must be an ISO 3166 alpha-2 code such as SN, got {country!r}")
    cohort = params.get("cohort")
    if cohort is not None and not 0 < len(cohort.strip()) <= 100:
        raise BadRequest("cohort: must be 1 to 100 characters")
    return ProgressFilter(
        since, until, country.upper() if country else None, cohort.strip() if cohort else None
    )


class ProgressApi:
    def __init__(self, context: Callable[[], ops.CoursesContext]) -> None:
        self.context = context

    def guarded(self, allowed: frozenset[str], action: str, handler: Handler) -> Handler:
        """The handler behind a bearer token and role check; a bad token: 401 and a challenge."""

        async def endpoint(request: Request) -> Response:
            try:
                caller = auth.check_token(
                    self.context().jwt_secret,
                    auth.bearer_token(request.headers.get("authorization")),
                )
            except auth.TokenRejected as error:
                return json_response(error.to_json(), 401, {"WWW-Authenticate": BEARER_CHALLENGE})
            auth.require_role(caller, allowed, action)
            return await handler(request)

        return endpoint

    async def token(self, request: Request) -> Response:
        body = parse_json(await read_body(request, MAX_BODY))
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("username", "password")
        ):
            raise BadRequest('the body must be {"username": "...", "password": "..."}')
        try:
            made = await ops.create_token(self.context(), body["username"], body["password"])
        except auth.TokenRejected as error:
            return json_response(
                error.to_json(), 401, {"WWW-Authenticate": 'Bearer realm="acbc-lrs"'}
            )
        return json_response(
            {
                "access_token": made.token,
                "token_type": "Bearer",
                "expires_in": made.expires_in,
                "role": made.role,
            }
        )

    async def courses(self, request: Request) -> Response:
        params = _params(request, set())
        language = _views.pick_language(request.headers.get("accept-language"))
        found = await ops.find_courses(self.context())
        document = {"courses": [_views.course_json(c, language) for c in found]}
        return _answer(request, params, document, lambda: _views.courses_csv(found, language))

    async def course(self, request: Request) -> Response:
        params = _params(request, set())
        language = _views.pick_language(request.headers.get("accept-language"))
        course = await ops.get_course(self.context(), request.path_params["code"])
        document = _views.course_json(course, language, full=True)
        return _answer(request, params, document, lambda: _views.courses_csv([course], language))

    async def progress(self, request: Request) -> Response:
        params = _params(request, {"since", "until", "country", "cohort"})
        where = parse_progress_filter(params)
        language = _views.pick_language(request.headers.get("accept-language"))
        report = await ops.get_course_progress(self.context(), request.path_params["code"], where)
        shown_filters = {k: v for k, v in params.items() if k != "format"}
        document = _views.report_json(report, language, shown_filters)
        return _answer(request, params, document, lambda: _views.report_csv(document))

    async def learner(self, request: Request) -> Response:
        params = _params(request, set())
        language = _views.pick_language(request.headers.get("accept-language"))
        transcript = await ops_learners.get_transcript(
            self.context(), request.path_params["learner_id"]
        )
        document = _views.transcript_json(transcript, language)
        return _answer(request, params, document, lambda: _views.transcript_csv(document))

    async def learner_by_agent(self, request: Request) -> Response:
        params = _params(request, {"agent"})
        if "agent" not in params:
            raise BadRequest(
                "agent: required (an xAPI Agent as JSON); or use /api/v1/learners/{id}"
            )
        language = _views.pick_language(request.headers.get("accept-language"))
        transcript = await ops_learners.find_transcript_by_agent(self.context(), params["agent"])
        document = _views.transcript_json(transcript, language)
        return _answer(request, params, document, lambda: _views.transcript_csv(document))

    async def link(self, request: Request) -> Response:
        _params(request, set())
        body = parse_json(await read_body(request, MAX_BODY))
        agents = body.get("agents") if isinstance(body, dict) else None
        if not isinstance(agents, list) or len(agents) != 2:
            raise BadRequest(
                'the body must be {"agents": [AGENT, AGENT]}: the two identifiers to link'
            )
        transcript = await ops_learners.link_identities(self.context(), agents[0], agents[1])
        language = _views.pick_language(request.headers.get("accept-language"))
        return json_response(_views.transcript_json(transcript, language))

    async def unlink(self, request: Request) -> Response:
        _params(request, set())
        body = parse_json(await read_body(request, MAX_BODY))
        if not isinstance(body, dict) or "agent" not in body:
            raise BadRequest('the body must be {"agent": AGENT}: the identifier to detach')
        transcripts = await ops_learners.unlink_identity(self.context(), body["agent"])
        language = _views.pick_language(request.headers.get("accept-language"))
        return json_response(
            {"learners": [_views.transcript_json(t, language) for t in transcripts]}
        )


def routes(context: Callable[[], ops.CoursesContext]) -> list[BaseRoute]:
    api = ProgressApi(context)
    guard = api.guarded
    return [
        Mount(
            "/api/v1",
            routes=[
                Route("/auth/token", api.token, methods=["POST"]),
                Route(
                    "/courses",
                    guard(auth.READ_CATALOG, "read the catalogue", api.courses),
                    methods=["GET"],
                ),
                Route(
                    "/courses/{code}",
                    guard(auth.READ_CATALOG, "read the catalogue", api.course),
                    methods=["GET"],
                ),
                Route(
                    "/courses/{code}/progress",
                    guard(auth.READ_PROGRESS, "read course progress", api.progress),
                    methods=["GET"],
                ),
                Route(
                    "/learners",
                    guard(auth.READ_LEARNERS, "read transcripts", api.learner_by_agent),
                    methods=["GET"],
                ),
                Route(
                    "/learners/link",
                    guard(auth.MANAGE_LEARNERS, "link identities", api.link),
                    methods=["POST"],
                ),
                Route(
                    "/learners/unlink",
                    guard(auth.MANAGE_LEARNERS, "unlink identities", api.unlink),
                    methods=["POST"],
                ),
                Route(
                    "/learners/{learner_id}",
                    guard(auth.READ_LEARNERS, "read transcripts", api.learner),
                    methods=["GET"],
                ),
            ],
        )
    ]
