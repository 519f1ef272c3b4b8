"""Settings of the courses plugin, read from LRS_* environment variables when it is built."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from lrs.config import Settings

DEFAULT_CATALOG_DIR = Path(__file__).parent / "catalog"


class SettingInvalid(ValueError):
    """An LRS_* variable of the courses plugin holds a value of the wrong type."""


@dataclass(frozen=True)
class CoursesSettings:
    """Every tunable of the catalogue, aggregation and progress API (README lists each one)."""

    base_iri: str = field(
        default="https://acbc.iom.int/xapi",
        metadata={
            "env": "LRS_COURSES_BASE_IRI",
            "doc": "Base of the course IRIs ({base}/courses/{code}) and of relative unit and "
            "session IRIs in catalogue files",
        },
    )
    jwt_secret: str = field(
        default="",
        metadata={
            "env": "LRS_JWT_SECRET",
            "doc": "HS256 key that signs /api/v1 tokens; when empty, a random key is generated "
            "once and kept in the database",
        },
    )
    token_minutes: int = field(
        default=60,
        metadata={"env": "LRS_JWT_MINUTES", "doc": "Lifetime of an /api/v1 token, in minutes"},
    )
    aggregate_in_server: bool = field(
        default=True,
        metadata={
            "env": "LRS_PROGRESS_IN_SERVER",
            "doc": "Whether the server keeps progress up to date itself (`lrs serve`: in one "
            "background process at low CPU priority); set it to false when a separate "
            "`lrs progress follow` process does",
        },
    )
    aggregate_delay_seconds: float = field(
        default=0.25,
        metadata={
            "env": "LRS_PROGRESS_DELAY_SECONDS",
            "doc": "How long the aggregator lets newly stored statements gather before it updates "
            "progress (at most; a full chunk of 5,000 starts it at once)",
        },
    )
    gap_wait_seconds: float = field(
        default=30.0,
        metadata={
            "env": "LRS_PROGRESS_GAP_WAIT_SECONDS",
            "doc": "How long the aggregator waits at a hole in the statements' storage numbers "
            "(a write still committing, or one rolled back) before moving past it",
        },
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CoursesSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(str(f.metadata["env"]))
            if raw is None:
                continue
            converters: dict[str, Callable[[str], object]] = {
                "int": int,
                "float": float,
                "bool": _boolean,
            }
            converter = converters.get(str(f.type), str)
            try:
                values[f.name] = converter(raw)
            except ValueError:
                raise SettingInvalid(
                    f"{f.metadata['env']}={raw!r} is not a valid {f.type}"
                ) from None
        settings = cls(**values)  # type: ignore[arg-type]
        return settings.normalised()

    def follows_in(self, process: Settings) -> bool:
        """Whether a process with these LRS settings follows the feed itself (the aggregator,
        the certificates follower): not beside a separate `lrs progress follow`, nor in a
        worker of `lrs serve`, whose background process does."""
        return self.aggregate_in_server and not process.background_process

    def normalised(self) -> CoursesSettings:
        """The base IRI without a trailing slash, so joining never doubles one."""
        return replace(self, base_iri=self.base_iri.rstrip("/"))


def _boolean(raw: str) -> bool:
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def courses_settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for each setting, as README documents them."""
    return [
        (str(f.metadata["env"]), str(f.default), str(f.metadata["doc"]))
        for f in fields(CoursesSettings)
    ]
