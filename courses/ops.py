"""Use cases of the courses plugin: catalogue, rebuild, users and tokens, course progress.

One transaction each (learners and transcripts are in courses.ops_learners).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from courses import _resolve, auth
from courses._catalog_files import read_catalog_dir
from courses._store_progress import CourseCounts, ProgressFilter, sum_counts
from courses.aggregate import (
    CATALOG_SITES,
    CATALOG_VERSION,
    CHECKPOINT,
    Aggregator,
    CatalogCache,
    lock_derived_state,
)
from courses.catalog import Catalog, Course, catalog_version
from courses.config import CoursesSettings
from courses.store import CourseQueries, StoredUser, course_queries
from lrs.errors import BadRequest, NotFound
from lrs.ops.context import LrsContext
from lrs.ops.credentials import hash_secret, secret_matches

JWT_SECRET = "jwt_secret"


@dataclass
class CoursesContext:
    """What every courses use case needs: the LRS context, settings and the catalogue cache."""

    lrs: LrsContext
    settings: CoursesSettings
    cache: CatalogCache
    jwt_secret: str = ""


# --- catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    codes: list[str]
    version: str
    changed: bool


async def _reset_derived(q: CourseQueries) -> None:
    """Forget what was derived from statements; administrators' links and unlinks stay."""
    await q.progress.delete_all_progress()
    await q.learners.delete_all_identities()
    links = await q.learners.find_all_links()
    # Identities named only by a link exist from the moment of linking, as on the incremental path.
    await _resolve.regroup(q, {k for link in links for k in (link.key_a, link.key_b)})
    await q.state.save_state(CHECKPOINT, "0")


async def load_catalog(cc: CoursesContext, directory: Path) -> LoadResult:
    """Replace the stored catalogue with the directory's; a changed catalogue resets progress.

    Progress is then recomputed from every stored statement (the caller catches up).
    """
    loaded = await asyncio.to_thread(read_catalog_dir, directory, cc.settings.base_iri)
    version = catalog_version(loaded.courses, loaded.sites)
    async with cc.lrs.store.write() as tx:
        q = course_queries(tx)
        await lock_derived_state(q)
        changed = await q.state.get_state(CATALOG_VERSION) != version
        if changed:
            await q.catalog.replace_courses(loaded.courses, int(time.time() * 1000))
            await q.state.save_state(CATALOG_SITES, orjson.dumps(loaded.sites).decode())
            await q.state.save_state(CATALOG_VERSION, version)
            await _reset_derived(q)
    return LoadResult([doc["code"] for doc in loaded.courses], version, changed)


async def reset_progress(cc: CoursesContext) -> None:
    async with cc.lrs.store.write() as tx:
        q = course_queries(tx)
        await lock_derived_state(q)
        await _reset_derived(q)


async def rebuild_progress(cc: CoursesContext) -> int:
    """Recompute all progress from the stored statements; return how many were read."""
    await reset_progress(cc)
    return await Aggregator(cc.lrs, cc.settings, cc.cache).catch_up()


async def get_catalog(cc: CoursesContext) -> Catalog:
    async with cc.lrs.store.read() as tx:
        return await cc.cache.current(course_queries(tx))


async def find_courses(cc: CoursesContext) -> list[Course]:
    return list((await get_catalog(cc)).courses.values())


def _course(catalog: Catalog, code: str) -> Course:
    course = catalog.courses.get(code) or catalog.courses.get(code.upper())
    if course is None:
        known = ", ".join(catalog.courses) or "none loaded (run `lrs courses load`)"
        raise NotFound(f"no course {code!r} in the catalogue (courses: {known})")
    return course


async def get_course(cc: CoursesContext, code: str) -> Course:
    return _course(await get_catalog(cc), code)


@dataclass(frozen=True)
class CourseReport:
    course: Course
    counts: CourseCounts
    by_country: dict[str, CourseCounts]
    by_cohort: dict[str, CourseCounts]


def _grouped(
    groups: dict[tuple[str | None, str | None], CourseCounts], position: int, units: int
) -> dict[str, CourseCounts]:
    keys = sorted({k for key in groups if (k := key[position]) is not None})
    return {
        str(key): sum_counts([c for k, c in groups.items() if k[position] == key], units)
        for key in keys
    }


async def get_course_progress(cc: CoursesContext, code: str, where: ProgressFilter) -> CourseReport:
    async with cc.lrs.store.read() as tx:
        q = course_queries(tx)
        course = _course(await cc.cache.current(q), code)
        groups = await q.progress.count_course(course.code, len(course.units), where)
    units = len(course.units)
    total = sum_counts(list(groups.values()), units)
    return CourseReport(course, total, _grouped(groups, 0, units), _grouped(groups, 1, units))


# --- users and tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    name: str
    role: str
    password: str


async def add_user(
    cc: CoursesContext, name: str, role: str, password: str | None = None
) -> NewUser:
    """Create a user, or give an existing one a new role and password."""
    auth.check_role(role)
    if not name.strip() or len(name) > 100:
        raise BadRequest("a user name is 1 to 100 characters")
    password = password or secrets.token_urlsafe(18)
    if len(password) < 8:
        raise BadRequest("a password has at least 8 characters")
    hashed = await asyncio.to_thread(hash_secret, password)
    async with cc.lrs.store.write() as tx:
        q = course_queries(tx)
        user = StoredUser(name, role, hashed, int(time.time() * 1000))
        if await q.users.get_user(name) is None:
            await q.users.save_user(user)
        else:
            await q.users.update_user(user)
    return NewUser(name, role, password)


async def ensure_jwt_secret(cc: CoursesContext) -> str:
    """The configured signing key, or the one kept in the database (made on first start)."""
    if cc.settings.jwt_secret:
        cc.jwt_secret = cc.settings.jwt_secret
        return cc.jwt_secret
    async with cc.lrs.store.write() as tx:
        cc.jwt_secret = await course_queries(tx).state.add_state_once(JWT_SECRET, auth.new_secret())
    return cc.jwt_secret


@dataclass(frozen=True)
class Token:
    token: str
    expires_in: int
    role: str


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so both failures take as long."""
    return hash_secret("not a password")


async def create_token(cc: CoursesContext, username: str, password: str) -> Token:
    async with cc.lrs.store.read() as tx:
        user = await course_queries(tx).users.get_user(username)
    stored_hash = user.password_hash if user else _dummy_hash()
    matches = await asyncio.to_thread(secret_matches, password, stored_hash)
    if user is None or not matches:
        raise auth.TokenRejected("unknown user or wrong password")
    token, lifetime = auth.issue_token(
        cc.jwt_secret, auth.Caller(user.name, user.role), cc.settings.token_minutes
    )
    return Token(token, lifetime, user.role)
