"""Basic authentication and xAPI scope checks for every resource."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from lrs.errors import Forbidden, Unauthorized
from lrs.ops.credentials import CredentialChecker
from lrs.store.credentials import StoredCredential

# Which scopes allow which kind of access; `all` allows everything (Communication 4.2).
READ_STATEMENTS = frozenset({"statements/read", "statements/read/mine", "all/read", "all"})
WRITE_STATEMENTS = frozenset({"statements/write", "all"})
READ_STATE = frozenset({"state", "all/read", "all"})
WRITE_STATE = frozenset({"state", "all"})
READ_PROFILE = frozenset({"profile", "all/read", "all"})
WRITE_PROFILE = frozenset({"profile", "all"})
READ_DEFINITIONS = frozenset({"all/read", "all", "define", "statements/read", "profile", "state"})


def _basic_pair(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("this resource needs a credential (HTTP Basic authentication)")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("only HTTP Basic authentication is supported")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Basic credential is not valid base64 of key:secret") from None
    key, sep, secret = decoded.partition(":")
    if not sep:
        raise Unauthorized("the Basic credential must be key:secret")
    return key, secret


async def authenticate(request: Request) -> StoredCredential:
    """The request's credential, or a 401."""
    key, secret = _basic_pair(request.headers.get("authorization"))
    checker: CredentialChecker = request.app.state.credentials
    credential = await checker.check(key, secret)
    if credential is None:
        raise Unauthorized("unknown, revoked or wrong credential")
    return credential


def require(credential: StoredCredential, allowed: frozenset[str], action: str) -> None:
    if not allowed.intersection(credential.scopes):
        raise Forbidden(
            f"credential lacks a scope to {action} (needs one of: {', '.join(sorted(allowed))})"
        )


async def authorize(request: Request, allowed: frozenset[str], action: str) -> StoredCredential:
    credential = await authenticate(request)
    require(credential, allowed, action)
    return credential
