"""Bearer tokens for /api/v1: HS256 JWTs naming a user and their role (PyJWT), and role checks.

Only HS256 is accepted: a token whose header names another algorithm (including `none`) is
refused before its signature is even considered (RFC 8725, section 3.1).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from lrs.errors import BadRequest, Forbidden, Unauthorized

ALGORITHM = "HS256"
ISSUER = "acbc-lrs"
AUDIENCE = "acbc-lrs/api/v1"
ROLES = ("admin", "designer", "auditor")
# Who may do what: designers see courses and aggregate progress; auditors also see each
# official's transcript; administrators also link and unlink identities.
READ_CATALOG = frozenset(ROLES)
READ_PROGRESS = frozenset(ROLES)
READ_LEARNERS = frozenset({"admin", "auditor"})
MANAGE_LEARNERS = frozenset({"admin"})


class TokenRejected(Unauthorized):
    """A missing, malformed, expired or wrongly signed bearer token (401 with WWW-Authenticate)."""

    def to_json(self) -> dict[str, object]:
        return {"error": "Unauthorized", "message": self.message}


@dataclass(frozen=True)
class Caller:
    name: str
    role: str


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def issue_token(
    secret: str, user: Caller, minutes: int, now: float | None = None
) -> tuple[str, int]:
    """A signed token for the user and its lifetime in seconds."""
    issued = int(time.time() if now is None else now)
    lifetime = minutes * 60
    claims = {
        "sub": user.name,
        "role": user.role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + lifetime,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), lifetime


def bearer_token(header: str | None) -> str:
    if not header:
        raise TokenRejected(
            "this API needs a bearer token (Authorization: Bearer ...); "
            "get one at /api/v1/auth/token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("only bearer tokens are accepted (Authorization: Bearer ...)")
    return token.strip()


def check_token(secret: str, token: str) -> Caller:
    """The caller a valid token names; TokenRejected says why any other token fails."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise TokenRejected("the bearer token is not a JWT") from None
    if header.get("alg") != ALGORITHM:
        raise TokenRejected(f"tokens must be signed with {ALGORITHM}, not {header.get('alg')!r}")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("the bearer token has expired; ask for a new one") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("the bearer token's signature does not match") from None
    except jwt.InvalidTokenError as error:
        raise TokenRejected(f"the bearer token is not valid: {error}") from None
    if claims["role"] not in ROLES:
        raise TokenRejected(f"the bearer token names an unknown role {claims['role']!r}")
    return Caller(str(claims["sub"]), str(claims["role"]))


def require_role(caller: Caller, allowed: frozenset[str], action: str) -> None:
    if caller.role not in allowed:
        raise Forbidden(f"a {caller.role} may not {action} (needs: {', '.join(sorted(allowed))})")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role
