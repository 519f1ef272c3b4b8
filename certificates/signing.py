"""Signed certificates (pure): Ed25519 keys as JWKs, compact JWTs (EdDSA), and their verification.

A third party needs only the JWKS (`/.well-known/jwks.json`) and a JWT library: the token names
its key (`kid`), and its claims say who was certified, for which course and version, and until
when. Whether it has since been revoked needs the LRS (the verify endpoints).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"
ISSUER = "acbc-lrs"
TOKEN_TYPE = "acbc-certificate+jwt"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


def new_signing_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = orjson.loads(OKPAlgorithm.to_jwk(private.public_key()))
    # RFC 7638 thumbprint as the key id: stable and derived from the key alone.
    members = {k: public[k] for k in ("crv", "kty", "x")}
    kid = hashlib.sha256(orjson.dumps(members, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return SigningKey(kid, pem, {**public, "kid": kid, "alg": ALGORITHM, "use": "sig"})


def sign_certificate(key: SigningKey, claims: dict[str, Any]) -> str:
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    headers = {"kid": key.kid, "typ": TOKEN_TYPE}
    return jwt.encode({"iss": ISSUER, **claims}, private, algorithm=ALGORITHM, headers=headers)  # type: ignore[arg-type]


def jwks(public_keys: list[dict[str, Any]]) -> dict[str, Any]:
    return {"keys": public_keys}


class Forged(Exception):
    """The token is not one this LRS signed (bad form, unknown key, or a bad signature)."""


def read_token(token: str, public_keys: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The claims of a token signed by one of these keys (expiry is the caller's to judge)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Forged("not a compact JWT") from None
    if header.get("alg") != ALGORITHM:
        raise Forged(f"signed with {header.get('alg')!r}, not {ALGORITHM}")
    jwk = public_keys.get(str(header.get("kid")))
    if jwk is None:
        raise Forged("signed with a key this LRS never published")
    try:
        public = OKPAlgorithm.from_jwk(orjson.dumps(jwk).decode())
        claims: dict[str, Any] = jwt.decode(
            token,
            public,  # type: ignore[arg-type]
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"verify_exp": False, "require": ["jti", "sub", "iat"]},
        )
    except jwt.InvalidTokenError as error:
        raise Forged(f"the signature or claims do not hold: {error}") from None
    return claims
