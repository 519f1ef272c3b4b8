"""HTTP for certificates and the audit log: parse, call one op, shape the answer.

Verification and the JWKS are public (anyone holding a certificate can check it); listing,
printing and the audit log need an auditor or administrator; decisions need an administrator.
The routes are full paths, not a Mount, so the courses plugin's /api/v1 Mount keeps the rest.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from certificates import ops, pdf, views
from certificates.store import AuditFilter, CertificateFilter
from courses import auth
from courses._views import pick_language
from courses.api import BEARER_CHALLENGE, parse_progress_filter
from courses.catalog import localised
from lrs.api._http import json_response, parse_json, query_params, read_body
from lrs.errors import BadRequest

Handler = Callable[[Request, auth.Caller], Awaitable[Response]]
READ = frozenset({"admin", "auditor"})
MANAGE = frozenset({"admin"})
MAX_BODY = 64 * 1024
PAGE, MAX_PAGE = 500, 10_000
ID = re.compile(r"^[0-9a-fA-F-]{36}$")
STATUSES = ("pending", "issued", "review", "revoked", "expired")


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    params = query_params(request)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(unknown)} (known: {', '.join(sorted(allowed))})"
        )
    if params.get("format", "json") not in ("json", "csv"):
        raise BadRequest(f"format: must be json or csv, got {params['format']!r}")
    return params


def _whole(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name}: must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _certificate_id(request: Request) -> str:
    value = str(request.path_params["id"])
    if not ID.match(value):
        raise BadRequest(f"{value!r} is not a certificate id (a UUID)")
    return value.lower()


def _csv(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(text, 200, headers, media_type="text/csv; charset=utf-8")


class CertificatesApi:
    def __init__(self, context: Callable[[], ops.CertContext]) -> None:
        self.context = context

    def guarded(self, allowed: frozenset[str], action: str, handler: Handler) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                caller = auth.check_token(
                    self.context().courses.jwt_secret,
                    auth.bearer_token(request.headers.get("authorization")),
                )
            except auth.TokenRejected as error:
                return json_response(error.to_json(), 401, {"WWW-Authenticate": BEARER_CHALLENGE})
            auth.require_role(caller, allowed, action)
            return await handler(request, caller)

        return endpoint

    async def jwks(self, request: Request) -> Response:
        keys = await ops.find_public_keys(self.context())
        return json_response({"keys": keys}, headers={"Cache-Control": "public, max-age=300"})

    async def list(self, request: Request, caller: auth.Caller) -> Response:
        params = _params(
            request, {"course", "status", "expiring_within", "learner", "limit", "offset", "format"}
        )
        status = params.get("status")
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status: must be one of {', '.join(STATUSES)}, got {status!r}")
        now = ops.now_ms()
        days = (
            _whole(params, "expiring_within", -1, 0, 36500) if "expiring_within" in params else None
        )
        where = CertificateFilter(
            course=params.get("course", "").upper() or None,
            status=status,
            expiring_before_ms=now + days * 86_400_000 if days is not None else None,
            now_ms=now,
            learner_id=params.get("learner"),
        )
        limit, offset = (
            _whole(params, "limit", PAGE, 1, MAX_PAGE),
            _whole(params, "offset", 0, 0, 10**9),
        )
        found = await ops.find_certificates(self.context(), where, limit, offset)
        if params.get("format") == "csv":
            return _csv(views.certificates_csv(found, now), "certificates")
        return json_response(
            {"certificates": [views.certificate_json(c, now, full=False) for c in found]}
        )

    async def one(self, request: Request, caller: auth.Caller) -> Response:
        _params(request, set())
        certificate = await ops.get_certificate(self.context(), _certificate_id(request))
        return json_response(views.certificate_json(certificate, ops.now_ms()))

    async def approve(self, request: Request, caller: auth.Caller) -> Response:
        _params(request, set())
        done = await ops.approve_certificate(self.context(), _certificate_id(request), caller.name)
        return json_response(views.certificate_json(done, ops.now_ms()))

    async def revoke(self, request: Request, caller: auth.Caller) -> Response:
        _params(request, set())
        body = parse_json(await read_body(request, MAX_BODY))
        if not isinstance(body, dict):
            raise BadRequest('the body must be {"reason": "..."}')
        reason = ops.check_reason(body.get("reason"))
        done = await ops.revoke_certificate(
            self.context(), _certificate_id(request), caller.name, reason
        )
        return json_response(views.certificate_json(done, ops.now_ms()))

    async def verify_one(self, request: Request) -> Response:
        _params(request, set())
        verdict = await ops.verify_certificate(self.context(), _certificate_id(request))
        return self._verdict(verdict)

    async def verify_token(self, request: Request) -> Response:
        _params(request, set())
        raw = await read_body(request, MAX_BODY)
        token: Any = raw.decode("utf-8", "replace").strip()
        if request.headers.get("content-type", "").startswith("application/json"):
            body = parse_json(raw)
            token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise BadRequest('send the certificate token as {"token": "..."} or as plain text')
        return self._verdict(await ops.verify_token(self.context(), token))

    def _verdict(self, verdict: ops.Verdict) -> Response:
        document: dict[str, Any] = {"status": verdict.status, "message": verdict.message}
        if verdict.certificate is not None:
            document["certificate"] = views.certificate_json(
                verdict.certificate, ops.now_ms(), full=False
            )
        return json_response(document)

    async def printable(self, request: Request, caller: auth.Caller) -> Response:
        params = _params(request, {"lang"})
        language = params.get("lang") or pick_language(request.headers.get("accept-language"))
        if language not in pdf.TEXTS:
            raise BadRequest(f"lang: must be fr or en, got {language!r}")
        cx = self.context()
        certificate = await ops.get_certificate(cx, _certificate_id(request))
        course = (await ops.get_catalog(cx)).courses.get(certificate.course)
        title = localised(course.title, language) if course else certificate.course
        verify_url = (
            f"{str(request.base_url).rstrip('/')}/api/v1/certificates/{certificate.id}/verify"
        )
        status = ops.verdict_of(certificate).status
        document = pdf.render_certificate(
            language,
            certificate.learner_name or certificate.learner_id,
            title,
            certificate.id,
            _day(certificate.issued_ms),
            _day(certificate.expires_ms) if certificate.expires_ms else None,
            status,
            verify_url,
        )
        headers = {
            "Content-Language": language,
            "Content-Disposition": f'inline; filename="certificate-{certificate.id}.pdf"',
            "X-Verification-URL": verify_url,
        }
        return Response(document, 200, headers, media_type="application/pdf")

    async def audit(self, request: Request, caller: auth.Caller) -> Response:
        params = _params(
            request,
            {"actor", "action", "learner", "course", "since", "until", "limit", "offset", "format"},
        )
        period = parse_progress_filter({k: params[k] for k in ("since", "until") if k in params})
        where = AuditFilter(
            actor=params.get("actor"),
            action=params.get("action"),
            learner=params.get("learner"),
            course=params.get("course"),
            since_ms=period.since_ms,
            until_ms=period.until_ms,
        )
        limit, offset = (
            _whole(params, "limit", PAGE, 1, MAX_PAGE),
            _whole(params, "offset", 0, 0, 10**9),
        )
        entries = await ops.find_audit(self.context(), where, limit, offset)
        if params.get("format") == "csv":
            return _csv(views.audit_csv(entries), "audit")
        return json_response({"entries": [views.audit_json(e) for e in entries]})

    async def audit_verify(self, request: Request, caller: auth.Caller) -> Response:
        _params(request, set())
        checked, problem = await ops.verify_audit(self.context())
        return json_response({"entries": checked, "intact": problem is None, "problem": problem})


def _day(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).date().isoformat()


def routes(context: Callable[[], ops.CertContext]) -> list[BaseRoute]:
    api = CertificatesApi(context)
    g = api.guarded
    base = "/api/v1/certificates"
    return [
        Route("/.well-known/jwks.json", api.jwks, methods=["GET"]),
        Route(f"{base}/verify", api.verify_token, methods=["POST"]),
        Route(base, g(READ, "read certificates", api.list), methods=["GET"]),
        Route(f"{base}/{{id}}.pdf", g(READ, "print certificates", api.printable), methods=["GET"]),
        Route(f"{base}/{{id}}/verify", api.verify_one, methods=["GET"]),
        Route(
            f"{base}/{{id}}/approve",
            g(MANAGE, "approve certificates", api.approve),
            methods=["POST"],
        ),
        Route(
            f"{base}/{{id}}/revoke", g(MANAGE, "revoke certificates", api.revoke), methods=["POST"]
        ),
        Route(f"{base}/{{id}}", g(READ, "read certificates", api.one), methods=["GET"]),
        Route("/api/v1/audit", g(READ, "read the audit log", api.audit), methods=["GET"]),
        Route(
            "/api/v1/audit/verify", g(READ, "read the audit log", api.audit_verify), methods=["GET"]
        ),
    ]
