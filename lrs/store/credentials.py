"""Credential rows: create, find, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lrs.store.tables import CredentialRow

credential_t = CredentialRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredCredential:
    key: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_ms: int
    revoked: bool


def _from_row(row: object) -> StoredCredential:
    m = row._mapping  # type: ignore[attr-defined]
    return StoredCredential(
        key=m["key"],
        name=m["name"],
        secret_hash=m["secret_hash"],
        scopes=tuple(m["scopes"].split()),
        created_ms=m["created_ms"],
        revoked=bool(m["revoked"]),
    )


class CredentialQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn

    async def save_credential(self, credential: StoredCredential) -> None:
        await self.conn.execute(
            credential_t.insert().values(
                key=credential.key,
                name=credential.name,
                secret_hash=credential.secret_hash,
                scopes=" ".join(credential.scopes),
                created_ms=credential.created_ms,
                revoked=credential.revoked,
            )
        )

    async def get_credential(self, key: str) -> StoredCredential | None:
        row = (
            await self.conn.execute(select(credential_t).where(credential_t.c.key == key))
        ).first()
        return _from_row(row) if row is not None else None

    async def find_credentials(self) -> list[StoredCredential]:
        rows = await self.conn.execute(select(credential_t).order_by(credential_t.c.created_ms))
        return [_from_row(row) for row in rows]

    async def revoke_credential(self, key: str) -> bool:
        result = await self.conn.execute(
            update(credential_t).where(credential_t.c.key == key).values(revoked=True)
        )
        return bool(result.rowcount)

    async def revoke_credentials_named(self, name: str) -> None:
        await self.conn.execute(
            update(credential_t).where(credential_t.c.name == name).values(revoked=True)
        )
