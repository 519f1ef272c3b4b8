"""The aggregator follows the feed from its checkpoint, takes voided statements out, minds holes."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from courses import aggregate, ops
from courses.aggregate import Aggregator, contiguous
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings
from courses.plugin import CoursesPlugin
from courses.store import course_queries
from lrs.app import create_app
from lrs.config import Settings
from lrs.ops.statement_feed import FeedEntry, StoredStatement, read_statement_feed
from tests.conftest import asgi_client
from tests.courses._clients import ClientFor
from tests.courses._scenario import post_statements

Settle = Callable[[], Awaitable[int]]
CAMPUS = "https://campus.acbc.iom.int"
ADL = "http://adlnet.gov/expapi/verbs/"
AMINA = {"name": "Amina", "account": {"homePage": CAMPUS, "name": "501"}}


def _completed(
    module: str,
    score: float | None = None,
    actor: dict[str, Any] | None = None,
    statement_id: str | None = None,
) -> dict[str, Any]:
    kinds = {
        "orientation": ("page", 1201),
        "pillars": ("scorm", 1202),
        "interagency": ("lesson", 1203),
        "final-quiz": ("quiz", 1204),
    }
    name, number = kinds[module]
    statement: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": actor or AMINA,
        "verb": {"id": ADL + "completed"},
        "object": {"id": f"{CAMPUS}/mod/{name}/view.php?id={number}"},
        "context": {"contextActivities": {"grouping": [{"id": f"{CAMPUS}/course/view.php?id=12"}]}},
        "timestamp": "2026-03-10T09:00:00Z",
    }
    if score is not None:
        statement["result"] = {"score": {"scaled": score}, "success": score >= 0.7}
    return statement


def _void(target: str) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:registrar@acbc.example.org"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": target},
    }


async def _status(api: httpx.AsyncClient, agent: dict[str, Any] = AMINA) -> str | None:
    import orjson

    response = await api.get("/api/v1/learners", params={"agent": orjson.dumps(agent).decode()})
    if response.status_code == 404:
        return None
    courses = {c["code"]: c["status"] for c in response.json()["courses"]}
    return courses.get("IBM-101")


def _on_two_identities(mbox: dict[str, str]) -> list[dict[str, Any]]:
    """Amina's first two modules on her campus account, the last two under her email."""
    return _all_modules()[:2] + [
        _completed(m, 0.8 if m == "final-quiz" else None, mbox)
        for m in ("interagency", "final-quiz")
    ]


def _all_modules(quiz: float = 0.9) -> list[dict[str, Any]]:
    return [
        _completed("orientation"),
        _completed("pillars"),
        _completed("interagency"),
        _completed("final-quiz", quiz),
    ]


async def test_voiding_takes_a_statement_back_out(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    statements = _all_modules()
    await post_statements(xapi, statements)
    await settle()
    assert await _status(admin) == "passed"
    await post_statements(xapi, [_void(statements[-1]["id"])])
    await settle()
    assert await _status(admin) == "in_progress"
    report = (await admin.get("/api/v1/courses/IBM-101/progress")).json()
    assert (report["enrolled"], report["passed"], report["scores"]["count"]) == (1, 0, 0)


async def test_a_void_that_arrives_before_its_target_wins(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    statements = _all_modules()
    await post_statements(xapi, [_void(statements[-1]["id"])])
    await settle()
    await post_statements(xapi, statements)
    await settle()
    assert await _status(admin) == "in_progress"


async def test_linking_before_any_statement_and_unlinking_later(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    mbox = {"mbox": "mailto:amina@border.example.org"}
    linked = await admin.post("/api/v1/learners/link", json={"agents": [AMINA, mbox]})
    assert linked.status_code == 200 and linked.json()["courses"] == []
    await post_statements(xapi, _on_two_identities(mbox))
    await settle()
    assert await _status(admin) == await _status(admin, mbox) == "passed"
    unlinked = await admin.post("/api/v1/learners/unlink", json={"agent": mbox})
    assert unlinked.status_code == 200
    assert sorted(len(t["identities"]) for t in unlinked.json()["learners"]) == [1, 1]
    assert await _status(admin) == await _status(admin, mbox) == "in_progress"
    report = (await admin.get("/api/v1/courses/IBM-101/progress")).json()
    assert (report["enrolled"], report["in_progress"]) == (2, 2)


async def test_an_unlinked_identity_no_longer_joins_by_email(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    shared = {"mbox": "mailto:office@border.example.org"}
    sheet = {"account": {"homePage": "https://attendance.acbc.iom.int", "name": "P-9"}}
    attended = {
        "actor": sheet,
        "verb": {"id": ADL + "attended"},
        "object": {"id": "https://acbc.iom.int/xapi/sessions/cpba-110/2026-moshi"},
        "context": {
            "extensions": {
                "https://acbc.iom.int/xapi/extensions/email": "office@border.example.org"
            }
        },
    }
    await post_statements(xapi, [_completed("orientation", actor=shared), attended])
    await settle()
    import orjson

    one = (
        await admin.get("/api/v1/learners", params={"agent": orjson.dumps(sheet).decode()})
    ).json()
    assert len(one["identities"]) == 2
    await admin.post("/api/v1/learners/unlink", json={"agent": sheet})
    await post_statements(xapi, [{**attended, "timestamp": "2026-06-09T09:00:00Z"}])
    await settle()
    alone = (
        await admin.get("/api/v1/learners", params={"agent": orjson.dumps(sheet).decode()})
    ).json()
    assert len(alone["identities"]) == 1 and [c["code"] for c in alone["courses"]] == ["CPBA-110"]


async def test_a_changed_catalogue_recomputes_progress(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    settle: Settle,
    cc: ops.CoursesContext,
    tmp_path: Path,
) -> None:
    await post_statements(xapi, _all_modules(quiz=0.72))
    await settle()
    assert await _status(admin) == "passed"
    stricter = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, stricter)
    ibm = stricter / "ibm-101.toml"
    ibm.write_text(ibm.read_text().replace("min_score = 0.7", "min_score = 0.8"))
    result = await ops.load_catalog(cc, stricter)
    assert result.changed
    await settle()
    assert await _status(admin) == "failed"
    assert not (await ops.load_catalog(cc, stricter)).changed


async def test_statements_offered_before_a_new_catalogue_are_read_again_against_it(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, cc: ops.CoursesContext, tmp_path: Path
) -> None:
    # The listener reads each statement against the catalogue of the moment; the quiz moved
    # to another Moodle module, which only the catalogue loaded next knows.
    aggregator = Aggregator(cc.lrs, cc.settings, cc.cache)
    assert await aggregator.catch_up() == 0  # the catalogue is read
    statements = _all_modules()
    moved = f"{CAMPUS}/mod/quiz/view.php?id=1299"
    statements[-1]["object"] = {"id": moved}
    await post_statements(xapi, statements)
    aggregator.offer(await read_statement_feed(cc.lrs, 0, 10))
    updated = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, updated)
    ibm = updated / "ibm-101.toml"
    ibm.write_text(ibm.read_text().replace(f"{CAMPUS}/mod/quiz/view.php?id=1204", moved))
    assert (await ops.load_catalog(cc, updated)).changed
    assert await aggregator.catch_up() == 4
    assert await _status(admin) == "passed"


async def test_two_aggregators_on_one_database_apply_each_statement_once(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, cc: ops.CoursesContext
) -> None:
    await post_statements(xapi, _all_modules())
    first, second = Aggregator(cc.lrs, cc.settings), Aggregator(cc.lrs, cc.settings)
    applied = await asyncio.gather(first.catch_up(), second.catch_up())
    assert sum(applied) == 4
    assert await _status(admin) == "passed"


async def test_what_the_listener_missed_is_read_from_the_feed_in_the_same_catch_up(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, cc: ops.CoursesContext
) -> None:
    # The listener's entries may stop short (another process stored the rest, or the buffer
    # was full): the aggregator must go on from the feed at once, not at the next wake-up.
    aggregator = Aggregator(cc.lrs, cc.settings, cc.cache)
    assert await aggregator.catch_up() == 0  # nothing stored yet; the catalogue is read
    await post_statements(xapi, _all_modules())
    (first, *_) = await read_statement_feed(cc.lrs, 0, 10)
    aggregator.offer([first])
    assert aggregator._offered  # kept for the catch-up, as the server's listener would
    assert await aggregator.catch_up(until_idle=False) == 4
    assert await _status(admin) == "passed"


def _entry(seq: int) -> FeedEntry:
    return FeedEntry(
        seq,
        {"id": str(uuid.uuid4()), "stored": "2999-01-01T00:00:00.000Z", "verb": {"id": "x"}},
        False,
    )


def test_only_entries_without_a_hole_are_taken() -> None:
    entries = [_entry(n) for n in (5, 6, 8, 9)]
    assert contiguous(entries, 4) == (entries[:2], entries[2])
    assert contiguous(entries, 3) == ([], entries[0])
    assert contiguous(entries[2:], 7) == (entries[2:], None)


async def test_a_hole_in_the_feed_is_waited_for_then_passed(
    cc: ops.CoursesContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statement 1 is taken by a transaction still open (PostgreSQL); 2 and 3 are visible."""
    feed = [_entry(2), _entry(3)]

    async def read_feed(ctx: object, after: int, limit: int) -> list[StoredStatement]:
        return [
            StoredStatement(
                e.seq, e.statement["id"], 0, e.voided, orjson.dumps(e.statement).decode()
            )
            for e in feed
            if e.seq > after
        ]

    monkeypatch.setattr(aggregate, "read_feed_rows", read_feed)
    waiting = Aggregator(cc.lrs, CoursesSettings(gap_wait_seconds=0.3), cc.cache)
    assert await waiting._apply_chunk() == (0, True)
    feed.insert(0, _entry(1))  # it commits
    assert await waiting._apply_chunk() == (3, False)
    feed.extend([_entry(5)])  # 4 is rolled back and never appears
    assert await waiting._apply_chunk() == (0, True)
    await asyncio.sleep(0.35)
    assert await waiting._apply_chunk() == (1, False)
    async with cc.lrs.store.read() as tx:
        assert await course_queries(tx).state.get_state(aggregate.CHECKPOINT) == "5"


@pytest.fixture
async def live_app(settings: Settings) -> AsyncIterator[tuple[Starlette, CoursesPlugin]]:
    plugin = CoursesPlugin(CoursesSettings(aggregate_delay_seconds=0.05))
    application = create_app(settings, plugins=[plugin])
    async with application.router.lifespan_context(application):
        await ops.load_catalog(plugin.context, DEFAULT_CATALOG_DIR)
        yield application, plugin


async def _moodle(application: Starlette) -> dict[str, Any]:
    """What a request needs to post statements as a Moodle site."""
    from lrs.ops.credentials import add_credential

    made = await add_credential(application.state.lrs, "moodle", ["all"])
    return {"auth": (made.key, made.secret), "headers": {"X-Experience-API-Version": "1.0.3"}}


async def _as_auditor(http: httpx.AsyncClient, plugin: CoursesPlugin) -> None:
    await ops.add_user(plugin.context, "ana", "auditor", "a long password")
    login = {"username": "ana", "password": "a long password"}
    token = (await http.post("/api/v1/auth/token", json=login)).json()
    http.headers["Authorization"] = f"Bearer {token['access_token']}"


async def _status_once(
    http: httpx.AsyncClient, settled: Callable[[str | None], bool]
) -> str | None:
    """Amina's status once `settled` holds for it, or after 5 s."""
    for _ in range(100):
        status = await _status(http)
        if settled(status):
            return status
        await asyncio.sleep(0.05)
    return await _status(http)


async def test_the_listener_wakes_the_background_aggregator(
    live_app: tuple[Starlette, CoursesPlugin],
) -> None:
    application, plugin = live_app
    moodle = await _moodle(application)
    async with asgi_client(application) as http:
        response = await http.post("/xapi/statements", json=_all_modules(), **moodle)
        assert response.status_code == 200
        await _as_auditor(http, plugin)
        assert await _status_once(http, lambda status: status == "passed") == "passed"


async def test_a_void_ahead_of_its_target_wins_through_the_listener(
    live_app: tuple[Starlette, CoursesPlugin],
) -> None:
    # The aggregator takes what this process stored from its listener, not from the feed:
    # the target, stored voided because its voiding statement came first, must not count.
    application, plugin = live_app
    moodle = await _moodle(application)
    statements = _all_modules()
    async with asgi_client(application) as http:
        voided = await http.post("/xapi/statements", json=_void(statements[-1]["id"]), **moodle)
        assert voided.status_code == 200
        await asyncio.sleep(0.3)  # the aggregator applies the void on its own
        assert (await http.post("/xapi/statements", json=statements, **moodle)).status_code == 200
        await _as_auditor(http, plugin)
        assert await _status_once(http, lambda status: status is not None) == "in_progress"


@asynccontextmanager
async def _app_that_does_not_aggregate(
    settings: Settings, courses_settings: CoursesSettings
) -> AsyncIterator[tuple[Starlette, CoursesPlugin, CoursesSettings]]:
    """A running app whose processes leave progress to a separate follower."""
    quiet = replace(courses_settings, aggregate_in_server=False)
    plugin = CoursesPlugin(quiet)
    application = create_app(settings, plugins=[plugin])
    async with application.router.lifespan_context(application):
        yield application, plugin, quiet


@asynccontextmanager
async def _following(follower: Aggregator) -> AsyncIterator[None]:
    """The follower polling the feed (as `lrs progress follow` does) until the block ends."""
    task = asyncio.create_task(follower.follow())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def test_a_separate_follower_keeps_progress_when_servers_do_not(
    settings: Settings, courses_settings: CoursesSettings
) -> None:
    async with _app_that_does_not_aggregate(settings, courses_settings) as (app, plugin, quiet):
        cc = plugin.context
        await ops.load_catalog(cc, DEFAULT_CATALOG_DIR)
        moodle = await _moodle(app)
        async with asgi_client(app) as http:
            response = await http.post("/xapi/statements", json=_all_modules(), **moodle)
            assert response.status_code == 200
            await _as_auditor(http, plugin)
            await asyncio.sleep(0.1)
            assert await _status(http) is None  # no server process aggregates
            # ... nor keeps what it stored for an aggregator that never runs here.
            assert plugin.aggregator is not None and not plugin.aggregator._offered
            async with _following(Aggregator(cc.lrs, quiet)):
                assert await _status_once(http, lambda status: status == "passed") == "passed"


async def test_a_follower_without_a_catalogue_looks_for_one_about_once_a_second(
    settings: Settings, courses_settings: CoursesSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The background process of every `lrs serve` follows the feed, catalogue or not: with
    # none loaded there is nothing to fold, and polling ten times a second cost ingestion.
    async with _app_that_does_not_aggregate(settings, courses_settings) as (app, plugin, quiet):
        cc = plugin.context
        store = cc.lrs.store
        reads = 0
        read = store.read

        def counted() -> Any:
            nonlocal reads
            reads += 1
            return read()

        monkeypatch.setattr(store, "read", counted)
        async with _following(Aggregator(cc.lrs, quiet)):
            await asyncio.sleep(1.5)
            assert 1 <= reads <= 3
            # A catalogue loaded later is found, and the statements before it are folded.
            moodle = await _moodle(app)
            async with asgi_client(app) as http:
                response = await http.post("/xapi/statements", json=_all_modules(), **moodle)
                assert response.status_code == 200
                await ops.load_catalog(cc, DEFAULT_CATALOG_DIR)
                await _as_auditor(http, plugin)
                assert await _status_once(http, lambda status: status == "passed") == "passed"


async def test_a_follower_goes_on_after_a_chunk_fails(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    cc: ops.CoursesContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `lrs progress follow` and the background process of `lrs serve` run for days: a lost
    # database connection must not end them.
    await post_statements(xapi, _all_modules())
    follower = Aggregator(cc.lrs, cc.settings, cc.cache)
    apply_chunk, failures = follower._apply_chunk, [OSError("connection lost")]

    async def failing_once() -> tuple[int, bool]:
        if failures:
            raise failures.pop()
        return await apply_chunk()

    monkeypatch.setattr(follower, "_apply_chunk", failing_once)
    monkeypatch.setattr(aggregate, "RETRY_SECONDS", 0.01)
    async with _following(follower):
        assert await _status_once(admin, lambda status: status == "passed") == "passed"
        assert not failures


async def test_roles_are_checked_on_link_and_unlink(api_as: ClientFor) -> None:
    designer = await api_as("designer")
    response = await designer.post("/api/v1/learners/unlink", json={"agent": AMINA})
    assert response.status_code == 403


async def test_a_link_made_while_a_chunk_is_worked_out_is_not_lost(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    settle: Settle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The aggregator works a chunk out on a snapshot; a link committed before its writes
    makes it apply the chunk again from the rows as they are then."""
    mbox = {"mbox": "mailto:amina@border.example.org"}
    await post_statements(xapi, _on_two_identities(mbox))
    stage_batch = aggregate.stage_batch

    async def link_meanwhile(*args: Any) -> aggregate.StagedChunk:
        chunk = await stage_batch(*args)
        linked = await admin.post("/api/v1/learners/link", json={"agents": [AMINA, mbox]})
        assert linked.status_code == 200
        return chunk

    monkeypatch.setattr(aggregate, "stage_batch", link_meanwhile)
    assert await settle() == 4
    assert await _status(admin) == await _status(admin, mbox) == "passed"


async def test_a_server_without_a_catalogue_keeps_nothing_it_stores(
    settings: Settings, courses_settings: CoursesSettings
) -> None:
    plugin = CoursesPlugin(courses_settings)
    application = create_app(settings, plugins=[plugin])
    async with application.router.lifespan_context(application):
        moodle = await _moodle(application)
        async with asgi_client(application) as http:
            response = await http.post("/xapi/statements", json=_all_modules(), **moodle)
            assert response.status_code == 200
        # Nothing to apply them to: held for the aggregator, they would only take memory.
        assert plugin.aggregator is not None and not plugin.aggregator._offered
