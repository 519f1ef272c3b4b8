"""Course progress from generated ACBC activity: the API's numbers against an independent count.

Statements go through the real Statement resource; the aggregator follows the feed; the
progress API is read with a designer's token. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from courses import aggregate, ops
from courses.aggregate import Aggregator
from tests.courses._clients import ClientFor
from tests.courses._expected import (
    expected_groups,
    expected_report,
    expected_rows,
    learner_groups,
    reported,
)
from tests.courses._scenario import Scenario, build, post_statements

Settle = Callable[[], Awaitable[int]]
COURSES = ("IBM-101", "HBM-120", "CPBA-110")


async def _send(xapi: httpx.AsyncClient, scenario: Scenario, settle: Settle) -> None:
    statements = list(scenario.statements)
    random.Random(5).shuffle(statements)  # sources interleave; order must not matter
    await post_statements(xapi, statements[: len(statements) // 2])
    await settle()  # half applied, then the rest: the incremental path in two steps
    await post_statements(xapi, statements[len(statements) // 2 :])
    await post_statements(xapi, scenario.voids)
    await settle()


async def _progress(api: httpx.AsyncClient, code: str, **params: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/courses/{code}/progress", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_matches(body: dict[str, Any], expected: dict[str, Any]) -> None:
    got = reported(body)
    average = expected.pop("average")
    assert got.pop("average") == (pytest.approx(average, abs=1e-4) if average is not None else None)
    assert got == expected


@pytest.fixture
def scenario() -> Scenario:
    return build(people=60)


async def test_the_numbers_match_an_independent_count(
    xapi: httpx.AsyncClient, api_as: ClientFor, settle: Settle, scenario: Scenario
) -> None:
    await _send(xapi, scenario, settle)
    designer = await api_as("designer")
    groups = learner_groups(scenario, links=[])
    for code in COURSES:
        rows = expected_rows(scenario, groups, code)
        assert rows, f"the scenario has no {code} learners"
        _assert_matches(await _progress(designer, code), expected_report(rows, code))
    for code in ("IBM-101", "CPBA-110"):
        rows = expected_rows(scenario, groups, code)
        body = await _progress(designer, code)
        assert body["by_country"] == expected_groups(rows, "country")
        assert body["by_cohort"] == expected_groups(rows, "cohort")
    cpba = expected_rows(scenario, groups, "CPBA-110")
    body = await _progress(designer, "CPBA-110", country="NE")
    _assert_matches(body, expected_report(cpba, "CPBA-110", country="NE"))
    body = await _progress(designer, "CPBA-110", cohort="CPBA-2026-MSH")
    _assert_matches(body, expected_report(cpba, "CPBA-110", cohort="CPBA-2026-MSH"))
    ibm = expected_rows(scenario, groups, "IBM-101")
    since, until = (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 5, 31, 23, 59, 59, 999000, tzinfo=UTC),
    )
    body = await _progress(designer, "IBM-101", since="2026-03-01", until="2026-05-31")
    _assert_matches(body, expected_report(ibm, "IBM-101", since=since, until=until))
    body = await _progress(designer, "IBM-101", country="sn")
    _assert_matches(body, expected_report(ibm, "IBM-101", country="SN"))


async def test_an_administrators_links_merge_officials_across_sites(
    xapi: httpx.AsyncClient, api_as: ClientFor, settle: Settle, scenario: Scenario
) -> None:
    assert scenario.movers, "the scenario has no official who changed Moodle site"
    await _send(xapi, scenario, settle)
    admin = await api_as("admin")
    for campus, national in scenario.movers:
        response = await admin.post(
            "/api/v1/learners/link",
            json={"agents": [scenario.agents[campus], scenario.agents[national]]},
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["identities"]) >= 2
    groups = learner_groups(scenario, links=scenario.movers)
    for code in COURSES:
        _assert_matches(
            await _progress(admin, code),
            expected_report(expected_rows(scenario, groups, code), code),
        )


async def _derived_rows(cc: ops.CoursesContext) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with cc.lrs.store.read() as tx:
        for table in ("courses_progress", "courses_identity"):
            rows = await tx.conn.exec_driver_sql(f"SELECT * FROM {table}")
            found[table] = sorted(tuple(row) for row in rows)
    return found


async def test_rebuild_gives_the_incremental_result(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    settle: Settle,
    scenario: Scenario,
    cc: ops.CoursesContext,
) -> None:
    await _send(xapi, scenario, settle)
    for campus, national in scenario.movers[:2]:
        await admin.post(
            "/api/v1/learners/link",
            json={"agents": [scenario.agents[campus], scenario.agents[national]]},
        )
    # More statements after the links, so the links apply to later statements too.
    extra = build(people=8, seed=99)
    await post_statements(xapi, extra.statements)
    await settle()
    incremental = await _derived_rows(cc)
    assert len(incremental["courses_progress"]) > 50
    applied = await ops.rebuild_progress(cc)
    assert applied == len(scenario.statements) + len(scenario.voids) + len(extra.statements)
    assert await _derived_rows(cc) == incremental


async def test_a_transcript_shows_every_course_with_its_evidence(
    xapi: httpx.AsyncClient, api_as: ClientFor, settle: Settle, scenario: Scenario
) -> None:
    await _send(xapi, scenario, settle)
    auditor = await api_as("auditor")
    groups = learner_groups(scenario, links=[])
    # An SN official: the Moodle mbox and the attendance sheet share an email, so one learner.
    sheet = next(
        i
        for i in scenario.emails
        if i.startswith("https://attendance") and f"mbox:{scenario.emails[i]}" in scenario.agents
    )
    response = await auditor.get(
        "/api/v1/learners", params={"agent": orjson.dumps(scenario.agents[sheet]).decode()}
    )
    assert response.status_code == 200, response.text
    transcript = response.json()
    assert {orjson.dumps(i["agent"]) for i in transcript["identities"]} >= {
        orjson.dumps(scenario.agents[sheet]),
        orjson.dumps(scenario.agents[f"mbox:{scenario.emails[sheet]}"]),
    }
    courses = {c["code"]: c for c in transcript["courses"]}
    for code in courses:
        expected = expected_rows(scenario, groups, code)[groups[sheet]]
        assert courses[code]["status"] == expected.status
        sent = {
            e.statement_id
            for e in scenario.events
            if e.course == code and not e.voided and groups[e.identity] == groups[sheet]
        }
        assert set(courses[code]["evidence"]) <= sent
        assert courses[code]["evidence"]
    same = await auditor.get(f"/api/v1/learners/{transcript['id']}")
    assert same.json() == transcript


async def test_staged_chunks_give_what_applying_in_the_write_turn_gives(
    xapi: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    settle: Settle,
    scenario: Scenario,
    cc: ops.CoursesContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks are worked out on a snapshot and their writes replayed (courses._staged); the
    same chunks applied directly inside the write turn must leave the same rows."""
    await _send(xapi, scenario, settle)
    for campus, national in scenario.movers[:3]:
        await admin.post(
            "/api/v1/learners/link",
            json={"agents": [scenario.agents[campus], scenario.agents[national]]},
        )
    await post_statements(xapi, build(people=8, seed=7).statements)
    await settle()
    staged = await _derived_rows(cc)

    async def never_current(*args: Any) -> aggregate.StagedChunk:
        chunk = await stage_batch(*args)
        return aggregate.StagedChunk("never the stored generation", chunk.writes)

    stage_batch = aggregate.stage_batch
    monkeypatch.setattr(aggregate, "stage_batch", never_current)
    await ops.reset_progress(cc)
    await Aggregator(cc.lrs, cc.settings, cc.cache).catch_up()
    assert await _derived_rows(cc) == staged
