"""Anyone can verify a certificate: offline with the JWKS, or online with the verify endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from certificates import ops, signing
from tests.certificates._activity import ibm_101, send
from tests.certificates.conftest import Settle


async def _issued(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle, **kw: Any
) -> dict[str, Any]:
    await send(xapi, ibm_101(**kw))
    await settle()
    [listed] = (await admin.get("/api/v1/certificates")).json()["certificates"]
    full: dict[str, Any] = (await admin.get(f"/api/v1/certificates/{listed['id']}")).json()
    return full


async def test_a_third_party_verifies_a_certificate_with_the_jwks_alone(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, settle: Settle
) -> None:
    certificate = await _issued(xapi, admin, settle)
    jwks = (await anonymous.get("/.well-known/jwks.json")).json()

    # What a border post's offline checker does: PyJWT and the published keys, nothing else.
    kid = jwt.get_unverified_header(certificate["token"])["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    claims = jwt.decode(certificate["token"], key.key, algorithms=["EdDSA"], issuer="acbc-lrs")
    assert claims["jti"] == certificate["id"]
    assert claims["name"] == "Amina Diallo"
    assert claims["course"] == "IBM-101"
    assert claims["course_version"] == certificate["course_version"]


async def test_verify_says_valid_then_revoked(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, settle: Settle
) -> None:
    certificate = await _issued(xapi, admin, settle)
    by_token = await anonymous.post(
        "/api/v1/certificates/verify", json={"token": certificate["token"]}
    )
    assert by_token.json()["status"] == "valid"
    by_id = await anonymous.get(f"/api/v1/certificates/{certificate['id']}/verify")
    assert by_id.json()["status"] == "valid"

    await admin.post(f"/api/v1/certificates/{certificate['id']}/revoke", json={"reason": "fraud"})
    plain = await anonymous.post(
        "/api/v1/certificates/verify",
        content=certificate["token"],
        headers={"Content-Type": "text/plain"},
    )
    assert plain.json()["status"] == "revoked"
    assert "fraud" in plain.json()["message"]
    by_id = await anonymous.get(f"/api/v1/certificates/{certificate['id']}/verify")
    assert by_id.json()["status"] == "revoked"


async def test_verify_says_expired(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, settle: Settle
) -> None:
    certificate = await _issued(xapi, admin, settle, at="2022-05-02T09:00:00Z")  # + 36 months
    response = await anonymous.post(
        "/api/v1/certificates/verify", json={"token": certificate["token"]}
    )
    assert response.json()["status"] == "expired"
    with pytest.raises(jwt.ExpiredSignatureError):  # offline checkers see it too
        jwks = (await anonymous.get("/.well-known/jwks.json")).json()
        key = jwt.PyJWKSet.from_dict(jwks).keys[0]
        jwt.decode(certificate["token"], key.key, algorithms=["EdDSA"])


async def test_a_token_signed_with_another_key_is_forged(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, anonymous: httpx.AsyncClient, settle: Settle
) -> None:
    certificate = await _issued(xapi, admin, settle)
    genuine = jwt.decode(certificate["token"], options={"verify_signature": False})
    other = signing.new_signing_key()
    impostor = signing.SigningKey(
        jwt.get_unverified_header(certificate["token"])["kid"], other.private_pem, other.public_jwk
    )
    for key in (other, impostor):  # an unknown key, and a known key id with the wrong key
        forged = signing.sign_certificate(key, {**genuine, "name": "Someone Else"})
        response = await anonymous.post("/api/v1/certificates/verify", json={"token": forged})
        assert response.status_code == 200
        assert response.json()["status"] == "forged"
    unsigned = jwt.encode(genuine, key=None, algorithm="none")  # type: ignore[arg-type]
    response = await anonymous.post("/api/v1/certificates/verify", json={"token": unsigned})
    assert response.json()["status"] == "forged"
    response = await anonymous.post("/api/v1/certificates/verify", json={"token": "not.a.jwt"})
    assert response.json()["status"] == "forged"


async def test_rotation_keeps_old_certificates_verifiable(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    settle: Settle,
    cx: ops.CertContext,
) -> None:
    certificate = await _issued(xapi, admin, settle)
    old_kid = jwt.get_unverified_header(certificate["token"])["kid"]
    new_kid = await ops.rotate_keys(cx, "cli:tester")
    assert new_kid != old_kid
    kids = [k["kid"] for k in (await anonymous.get("/.well-known/jwks.json")).json()["keys"]]
    assert kids == [old_kid, new_kid]
    response = await anonymous.post(
        "/api/v1/certificates/verify", json={"token": certificate["token"]}
    )
    assert response.json()["status"] == "valid"
    # A certificate signed after the rotation names the new key.
    other = {"name": "Kofi", "account": {"homePage": "https://campus.acbc.iom.int", "name": "502"}}
    await send(xapi, ibm_101(actor=other))
    await settle()
    tokens = [
        (await admin.get(f"/api/v1/certificates/{c['id']}")).json()["token"]
        for c in (await admin.get("/api/v1/certificates")).json()["certificates"]
    ]
    assert {jwt.get_unverified_header(t)["kid"] for t in tokens} == {old_kid, new_kid}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/certificates/verify", {"nothing": 1}),
        ("POST", "/api/v1/certificates/verify", None),
        ("GET", "/api/v1/certificates/not-an-id/verify", None),
        ("GET", "/api/v1/certificates/00000000-0000-0000-0000-000000000000/verify", None),
        ("GET", "/api/v1/certificates/00000000-0000-0000-0000-000000000000/verify?x=1", None),
    ],
)
async def test_bad_verification_requests_are_4xx_json(
    anonymous: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    response = await anonymous.request(method, path, json=body)
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
