"""Bearer tokens for /api/v1: issued for user and password; signature, expiry, algorithm checked."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from courses import auth, ops
from tests.courses._clients import PASSWORD, ClientFor

COURSES = "/api/v1/courses"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "designer-user",
        "role": "designer",
        "iss": auth.ISSUER,
        "aud": auth.AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


async def _status_with(anonymous_api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await anonymous_api.get(COURSES, headers={"Authorization": f"Bearer {token}"})


async def test_a_user_gets_a_token_that_opens_the_api(
    anonymous_api: httpx.AsyncClient, cc: ops.CoursesContext
) -> None:
    await ops.add_user(cc, "awa", "designer", PASSWORD)
    response = await anonymous_api.post(
        "/api/v1/auth/token", json={"username": "awa", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert (
        body["token_type"] == "Bearer" and body["role"] == "designer" and body["expires_in"] == 3600
    )
    claims = jwt.decode(
        body["access_token"], cc.jwt_secret, algorithms=["HS256"], audience=auth.AUDIENCE
    )
    assert claims["sub"] == "awa" and claims["role"] == "designer"
    assert claims["exp"] - claims["iat"] == 3600
    listed = await anonymous_api.get(
        COURSES, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "awa", "password": "wrong password"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
async def test_wrong_credentials_get_401(
    anonymous_api: httpx.AsyncClient, cc: ops.CoursesContext, body: dict[str, str]
) -> None:
    await ops.add_user(cc, "awa", "designer", PASSWORD)
    response = await anonymous_api.post("/api/v1/auth/token", json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "message": "unknown user or wrong password"}


@pytest.mark.parametrize("content", [b"", b"not json", b'{"username": 1}', b"[]"])
async def test_a_malformed_token_request_gets_400(
    anonymous_api: httpx.AsyncClient, content: bytes
) -> None:
    response = await anonymous_api.post("/api/v1/auth/token", content=content)
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"


def _forged(secret: str) -> dict[str, str]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "expired": jwt.encode(
            _claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), secret
        ),
        "wrong signature": jwt.encode(_claims(), "not the server's key, but long enough for HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
        "alg None, signed": f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{_b64(_claims())}.c2ln",
        "HS512 with the right key": jwt.encode(_claims(), secret, algorithm="HS512"),
        "RS256": jwt.encode(_claims(), rsa_key, algorithm="RS256"),
        "tampered role": _tamper(jwt.encode(_claims(), secret), role="admin"),
        "wrong audience": jwt.encode(_claims(aud="someone-else"), secret),
        "unknown role": jwt.encode(_claims(role="root"), secret),
        "no expiry": jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, secret),
        "garbage": "abc.def.ghi",
        "not a JWT": "hello",
    }


def _tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{_b64({**claims, **changes})}.{signature}"


async def test_bad_tokens_get_401_with_a_reason(
    anonymous_api: httpx.AsyncClient, cc: ops.CoursesContext
) -> None:
    for name, token in _forged(cc.jwt_secret).items():
        response = await _status_with(anonymous_api, token)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        body = response.json()
        assert body["error"] == "Unauthorized" and body["message"], name


async def test_the_reasons_name_the_problem(
    anonymous_api: httpx.AsyncClient, cc: ops.CoursesContext
) -> None:
    forged = _forged(cc.jwt_secret)
    expected = {
        "expired": "expired",
        "wrong signature": "signature",
        "alg none": "HS256",
        "HS512 with the right key": "HS256",
        "RS256": "HS256",
        "tampered role": "signature",
    }
    for name, words in expected.items():
        message = (await _status_with(anonymous_api, forged[name])).json()["message"]
        assert words in message, (name, message)


@pytest.mark.parametrize(
    "header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"]
)
async def test_requests_without_a_bearer_token_get_401(
    anonymous_api: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in (
        COURSES,
        "/api/v1/courses/IBM-101",
        "/api/v1/courses/IBM-101/progress",
        "/api/v1/learners/L1",
    ):
        response = await anonymous_api.get(path, headers=headers)
        assert response.status_code == 401, (path, header)
        assert response.json()["error"] == "Unauthorized"


async def test_roles_limit_what_each_user_may_do(api_as: ClientFor) -> None:
    designer, auditor = await api_as("designer"), await api_as("auditor")
    agent = '{"mbox": "mailto:someone@example.org"}'
    assert (await designer.get("/api/v1/courses/IBM-101/progress")).status_code == 200
    assert (await designer.get("/api/v1/learners", params={"agent": agent})).status_code == 403
    assert (await auditor.get("/api/v1/learners", params={"agent": agent})).status_code == 404
    link = {"agents": [{"mbox": "mailto:a@example.org"}, {"mbox": "mailto:b@example.org"}]}
    forbidden = await auditor.post("/api/v1/learners/link", json=link)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "Forbidden" and "admin" in forbidden.json()["message"]


async def test_the_signing_key_is_kept_across_restarts(cc: ops.CoursesContext) -> None:
    first = cc.jwt_secret
    assert len(first) >= 32
    again = ops.CoursesContext(cc.lrs, cc.settings, cc.cache)
    assert await ops.ensure_jwt_secret(again) == first


async def test_a_configured_signing_key_wins(cc: ops.CoursesContext) -> None:
    configured = ops.CoursesContext(cc.lrs, cc.settings.__class__(jwt_secret="k" * 40), cc.cache)
    assert await ops.ensure_jwt_secret(configured) == "k" * 40


async def test_bad_users_are_refused(cc: ops.CoursesContext) -> None:
    from lrs.errors import BadRequest

    with pytest.raises(BadRequest, match="unknown role"):
        await ops.add_user(cc, "x", "boss", PASSWORD)
    with pytest.raises(BadRequest, match="8 characters"):
        await ops.add_user(cc, "x", "admin", "short")
