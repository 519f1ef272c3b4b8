"""The GET /statements filters read indexes, not whole tables, on PostgreSQL (EXPLAIN)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import event, text

from lrs.ops.context import LrsContext
from lrs.ops.get_statements import Reader, find_statements
from lrs.ops.save_statements import Writer, save_statements
from lrs.xapi.prepare import Authority, authority_agent, format_instant_ms
from lrs.xapi.query import StatementQuery, parse_query

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

STATEMENTS = 5000
BATCH = 500
LEARNERS = 400
INSTRUCTORS = 12
SITE = "https://moodle.acbc.iom.int"
VERBS = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://id.tincanapi.com/verb/viewed",
    "http://adlnet.gov/expapi/verbs/passed",
]
TABLES = {"statement", "statement_index"}
# A Bitmap Heap Scan reads only the pages its Bitmap Index Scan found.
INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan", "Bitmap Heap Scan"}
WRITER = Writer(Authority("moodle", authority_agent("moodle", "moodle", SITE)), True)


def _agent(kind: str, n: int) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": f"{kind} {n}",
        "account": {"homePage": SITE, "name": f"{kind}-{n}"},
    }


def _course(n: int) -> str:
    return f"{SITE}/course/view.php?id={n}"


def _moodle_statement(rng: random.Random) -> dict[str, Any]:
    """A Moodle-shaped statement: a learner, a module in one of 8 courses, a registration."""
    learner, course, module = rng.randrange(LEARNERS), rng.randrange(8), rng.randrange(20)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "actor": _agent("learner", learner),
        "verb": {"id": rng.choice(VERBS), "display": {"en": "did"}},
        "object": {
            "objectType": "Activity",
            "id": f"{SITE}/mod/page/view.php?id={course * 20 + module}",
        },
        "context": {
            # One registration per learner and course, as Moodle enrols.
            "registration": str(uuid.UUID(int=learner * 8 + course + 1)),
            "instructor": _agent("instructor", course % INSTRUCTORS),
            "contextActivities": {"grouping": [{"objectType": "Activity", "id": _course(course)}]},
        },
    }


async def _fill(ctx: LrsContext) -> list[dict[str, Any]]:
    rng = random.Random(6)
    statements = [_moodle_statement(rng) for _ in range(STATEMENTS)]
    for start in range(0, STATEMENTS, BATCH):
        await save_statements(ctx, statements[start : start + BATCH], WRITER, "1.0.3")
    async with ctx.store.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return statements


async def _stored_at(ctx: LrsContext, position: int) -> str:
    """The `stored` instant of the statement stored at this position (0 = first)."""
    async with ctx.store.engine.connect() as conn:
        stored_ms = (
            await conn.execute(
                text("SELECT stored_ms FROM statement ORDER BY seq OFFSET :n LIMIT 1"),
                {"n": position},
            )
        ).scalar_one()
    return format_instant_ms(int(stored_ms))


def _cases(sample: dict[str, Any], recent: str, early: str) -> dict[str, dict[str, str]]:
    learner = orjson.dumps(sample["actor"]).decode()
    instructor = orjson.dumps(sample["context"]["instructor"]).decode()
    return {
        "plain listing": {},
        "ascending": {"ascending": "true"},
        "agent": {"agent": learner},
        "related_agents": {"agent": instructor, "related_agents": "true"},
        "verb": {"verb": sample["verb"]["id"]},
        "activity": {"activity": sample["object"]["id"]},
        "related_activities": {
            "activity": sample["context"]["contextActivities"]["grouping"][0]["id"],
            "related_activities": "true",
        },
        "registration": {"registration": sample["context"]["registration"]},
        "agent and verb": {"agent": learner, "verb": sample["verb"]["id"]},
        "verb and activity": {"verb": sample["verb"]["id"], "activity": sample["object"]["id"]},
        "since (what is new)": {"since": recent},
        "until (the oldest)": {"until": early},
        "since and until": {"since": early, "until": recent},
        "agent since": {"agent": learner, "since": early},
    }


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def _table_reads(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, table) of each plan node that reads a statement table or its index."""
    reads = []
    for node in _plan_nodes(plan):
        table = node.get("Relation Name")
        if table is None and node.get("Node Type") == "Bitmap Index Scan":
            table = (
                "statement_index"
                if node["Index Name"].startswith("statement_index")
                else "statement"
            )
        if table in TABLES:
            reads.append((node["Node Type"], table))
    return reads


class _CapturedSql:
    """The SQL and parameters the store sends, so EXPLAIN sees exactly what the LRS runs."""

    def __init__(self, ctx: LrsContext) -> None:
        self.sent: list[tuple[str, Any]] = []
        event.listen(ctx.store.engine.sync_engine, "before_cursor_execute", self._record)
        self.engine = ctx.store.engine

    def _record(
        self, conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, many: bool
    ) -> None:
        self.sent.append((sql, parameters))

    def close(self) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._record)


async def _page_query_plan(
    ctx: LrsContext, query: StatementQuery, after_seq: int | None
) -> dict[str, Any]:
    """The PostgreSQL plan of the statement-page query `find_statements` runs."""
    captured = _CapturedSql(ctx)
    try:
        await find_statements(ctx, query, Reader("moodle", False), [], after_seq)
    finally:
        captured.close()
    sql, parameters = next((s, p) for s, p in captured.sent if "FROM statement" in s)
    async with ctx.store.engine.connect() as conn:
        result = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, parameters)
        document = result.scalar_one()
    plan: dict[str, Any] = (orjson.loads(document) if isinstance(document, str) else document)[0][
        "Plan"
    ]
    return plan


async def test_common_filters_use_indexes(lrs: LrsContext) -> None:
    statements = await _fill(lrs)
    recent, early = (
        await _stored_at(lrs, STATEMENTS * 95 // 100),
        await _stored_at(lrs, STATEMENTS // 20),
    )
    bad: dict[str, list[tuple[str, str]]] = {}
    for name, params in _cases(statements[STATEMENTS // 2], recent, early).items():
        query = parse_query({**params, "limit": "100"}, "1.0.3", 100, 1000)
        first = await find_statements(lrs, query, Reader("moodle", False), [])
        # The first page, and the next one as `more` asks for it.
        pages = [None] + ([first.next_cursor.after_seq] if first.next_cursor else [])
        for after_seq in pages:
            reads = _table_reads(await _page_query_plan(lrs, query, after_seq))
            if not reads or any(node not in INDEX_NODES for node, _ in reads):
                bad[f"{name}, after {after_seq}"] = reads
    assert bad == {}
