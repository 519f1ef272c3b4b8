"""Use cases: create, list, revoke and check credentials (Basic auth key pairs with xAPI scopes)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from lrs.errors import BadRequest
from lrs.ops.context import LrsContext
from lrs.store.credentials import StoredCredential

# xAPI 1.0.3 Communication 4.2 (OAuth scopes), used for Basic credentials too.
SCOPES = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "all/read",
    "all",
    "state",
    "define",
    "profile",
)
# Checked credentials are remembered briefly: hashing a secret is slow on purpose,
# and batch clients authenticate on every request. A revocation applies within this time.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class NewCredential:
    key: str
    secret: str
    name: str
    scopes: tuple[str, ...]


# scrypt's work factor for new secrets; each hash records its own, so it can be raised later.
SCRYPT_N = 2**14


def hash_secret(secret: str, salt: bytes | None = None, n: int | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n = n or SCRYPT_N
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, secret_hash: str) -> bool:
    try:
        scheme, n, salt_hex, _ = secret_hash.split("$")
        salt, cost = bytes.fromhex(salt_hex), int(n)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hash_secret(secret, salt, cost), secret_hash)


def check_scopes(scopes: list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise BadRequest(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not scopes:
        raise BadRequest("a credential needs at least one scope")
    return tuple(dict.fromkeys(scopes))


async def add_credential(
    ctx: LrsContext, name: str, scopes: list[str], key: str | None = None, secret: str | None = None
) -> NewCredential:
    checked = check_scopes(scopes)
    key = key or secrets.token_hex(16)
    secret = secret or secrets.token_urlsafe(24)
    async with ctx.store.write() as tx:
        if await tx.credentials.get_credential(key) is not None:
            raise BadRequest(f"a credential with key {key!r} already exists")
        await tx.credentials.save_credential(
            StoredCredential(
                key, name, hash_secret(secret), checked, int(time.time() * 1000), False
            )
        )
    return NewCredential(key, secret, name, checked)


async def replace_credentials_named(ctx: LrsContext, name: str, scopes: list[str]) -> NewCredential:
    """Revoke every credential with this name and create a fresh one (the demo credential)."""
    async with ctx.store.write() as tx:
        await tx.credentials.revoke_credentials_named(name)
    return await add_credential(ctx, name, scopes)


async def find_credentials(ctx: LrsContext) -> list[StoredCredential]:
    async with ctx.store.read() as tx:
        return await tx.credentials.find_credentials()


async def revoke_credential(ctx: LrsContext, key: str) -> bool:
    async with ctx.store.write() as tx:
        return await tx.credentials.revoke_credential(key)


class CredentialChecker:
    """Checks key/secret pairs against the store.

    Hashing a secret is slow on purpose, so a pair that matched is remembered with the hash it
    matched: it is never hashed again while the stored hash stays the same. The stored row is
    re-read every CACHE_SECONDS, so a revocation applies within that time.
    """

    def __init__(self, ctx: LrsContext) -> None:
        self.ctx = ctx
        # (key, sha256 of the secret) -> (when the row was last read, the row as read then)
        self._verified: dict[tuple[str, str], tuple[float, StoredCredential]] = {}
        # Hashes running now, by (key, sha256 of the secret, stored hash): the requests a
        # client sends at once with a pair not yet verified wait for one hash, not one each.
        self._hashing: dict[tuple[str, str, str], asyncio.Future[bool]] = {}

    async def check(self, key: str, secret: str) -> StoredCredential | None:
        fingerprint = (key, hashlib.sha256(secret.encode()).hexdigest())
        cached = self._verified.get(fingerprint)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with self.ctx.store.read() as tx:
            credential = await tx.credentials.get_credential(key)
        if credential is None or credential.revoked:
            self._verified.pop(fingerprint, None)
            return None
        # Another request may have verified the pair while this one read the row.
        cached = self._verified.get(fingerprint)
        already_matched = cached is not None and cached[1].secret_hash == credential.secret_hash
        if not already_matched and not await self._matches(fingerprint, secret, credential):
            return None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[fingerprint] = (now, credential)
        return credential

    async def _matches(
        self, fingerprint: tuple[str, str], secret: str, credential: StoredCredential
    ) -> bool:
        running = (*fingerprint, credential.secret_hash)
        hashing = self._hashing.get(running)
        if hashing is None:
            hashing = asyncio.ensure_future(
                asyncio.to_thread(secret_matches, secret, credential.secret_hash)
            )
            self._hashing[running] = hashing
        # Shielded: one waiting request that is cancelled must not cancel the others' hash.
        matched = await asyncio.shield(hashing)
        # Dropped only now: the caller records a match before any other request runs.
        self._hashing.pop(running, None)
        return matched
