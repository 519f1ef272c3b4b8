"""Settings from LRS_* environment variables, built once (create_app, the CLI) and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/lrs.sqlite3"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the LRS. README's settings table lists each field (a test checks it)."""

    database_url: str = field(
        default=DEFAULT_DATABASE_URL,
        metadata={"doc": "SQLAlchemy URL of the database (sqlite+aiosqlite or postgresql+asyncpg)"},
    )
    max_body_bytes: int = field(
        default=50 * 1024 * 1024,
        metadata={"doc": "Largest request body accepted, in bytes; larger bodies get 413"},
    )
    page_size: int = field(
        default=100, metadata={"doc": "Statements per page when the client gives no limit"}
    )
    max_page_size: int = field(
        default=1000, metadata={"doc": "Largest page the LRS returns, whatever limit asks"}
    )
    authority_homepage: str = field(
        default="https://lrs.acbc.iom.int",
        metadata={"doc": "homePage of the account used as authority for each credential"},
    )
    cors_origins: str = field(
        default="*", metadata={"doc": "Comma-separated origins allowed by CORS ('*' for any)"}
    )
    default_xapi_version: str = field(
        default="2.0.0",
        metadata={
            "doc": "Version (1.0.3 or 2.0.0) named in responses to requests that name none "
            "(About, and the 400 for a missing version header)"
        },
    )
    log_level: str = field(default="info", metadata={"doc": "Log level of the server"})
    plugins: str = field(
        default="",
        metadata={"doc": "Comma-separated plugins the server runs (empty: every installed one)"},
    )
    background_process: str = field(
        default="",
        metadata={
            "doc": "Set by `lrs serve` for its workers when plugins' background work (the "
            "courses aggregator) runs in a process of its own (empty: each process runs it)"
        },
    )
    writer_socket: str = field(
        default="",
        metadata={
            "doc": "Unix socket of the writer process that stores statement batches; "
            "`lrs serve` sets it for its workers (empty: each process stores its own)"
        },
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read LRS_<FIELD> variables; explicit overrides win (used by the CLI and tests)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("LRS_" + f.name.upper())
            if raw is not None:
                values[f.name] = int(raw) if f.type == "int" else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for each setting, as README documents them."""
    return [
        ("LRS_" + f.name.upper(), str(f.default), str(f.metadata.get("doc", "")))
        for f in fields(Settings)
    ]
