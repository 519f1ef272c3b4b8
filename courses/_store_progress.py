"""SQL for progress rows: saving a learner's rows, and the per-course counts the API reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import BigInteger, ColumnElement, and_, case, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from courses import tables
from courses._chunks import distinct_chunks
from lrs.store import dialects

progress_t = tables.ProgressRow.__table__  # type: ignore[attr-defined]
COLUMNS = [c.name for c in progress_t.columns]
SCORE_BUCKETS = 10  # [0, 0.1), [0.1, 0.2), ... [0.9, 1.0]


class StoredProgress(NamedTuple):
    course: str
    learner_id: str
    status: str
    best_score: float | None
    attendance_days: int
    first_ms: int
    last_ms: int
    completed_ms: int | None
    certificate_ms: int | None
    expires_ms: int | None
    country: str | None
    cohort: str | None
    started_mask: int
    done_mask: int
    detail: str  # JSON: the course summary and the certificate's missing prerequisites


@dataclass(frozen=True)
class ProgressFilter:
    """Which learners of a course to count: active in a period, from a country, in a cohort."""

    since_ms: int | None = None
    until_ms: int | None = None
    country: str | None = None
    cohort: str | None = None


STATUSES = ("in_progress", "completed", "passed", "failed")


@dataclass(frozen=True)
class CourseCounts:
    """A progress report's figures, for one country and cohort or summed over several."""

    by_status: dict[str, int]
    scored: int
    score_sum: float
    score_buckets: list[int]
    started: list[int]  # per unit, in catalogue order
    done: list[int]

    @property
    def enrolled(self) -> int:
        return sum(self.by_status.values())

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None


def _sum_lists(lists: list[list[int]], size: int) -> list[int]:
    return [sum(values[n] for values in lists) for n in range(size)]


def sum_counts(groups: list[CourseCounts], units: int) -> CourseCounts:
    return CourseCounts(
        by_status={s: sum(g.by_status[s] for g in groups) for s in STATUSES},
        scored=sum(g.scored for g in groups),
        score_sum=sum(g.score_sum for g in groups),
        score_buckets=_sum_lists([g.score_buckets for g in groups], SCORE_BUCKETS),
        started=_sum_lists([g.started for g in groups], units),
        done=_sum_lists([g.done for g in groups], units),
    )


def _stored(row: Any) -> StoredProgress:
    mapping = row._mapping  # a new view at each access: take it once, not once a column
    return StoredProgress(**{name: mapping[name] for name in COLUMNS})


def _conditions(course: str, where: ProgressFilter) -> list[ColumnElement[bool]]:
    c = progress_t.c
    conditions: list[ColumnElement[bool]] = [c.course == course]
    if where.since_ms is not None:
        conditions.append(c.last_ms >= where.since_ms)
    if where.until_ms is not None:
        conditions.append(c.first_ms <= where.until_ms)
    if where.country is not None:
        conditions.append(c.country == where.country)
    if where.cohort is not None:
        conditions.append(c.cohort == where.cohort)
    return conditions


def _bucket_condition(n: int) -> ColumnElement[bool]:
    score: ColumnElement[float] = progress_t.c.best_score
    low, high = n / SCORE_BUCKETS, (n + 1) / SCORE_BUCKETS
    if n == 0:
        return score < high
    if n == SCORE_BUCKETS - 1:
        return score >= low
    return and_(score >= low, score < high)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _has_bit(column: ColumnElement[int], position: int) -> ColumnElement[bool]:
    return column.op("&")(literal(1 << position, BigInteger)) != 0


class ProgressQueries:
    def __init__(self, conn: AsyncConnection, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine

    async def find_progress_of_learners(self, learner_ids: Iterable[str]) -> list[StoredProgress]:
        found: list[StoredProgress] = []
        for part in distinct_chunks(learner_ids):
            rows = await self.conn.execute(
                select(progress_t).where(progress_t.c.learner_id.in_(part))
            )
            found += [_stored(row) for row in rows]
        return found

    async def save_progress(self, rows: list[StoredProgress]) -> None:
        """Insert or replace (course, learner) rows. Plain tuples: the aggregator writes a
        thousand or more a chunk while ingestion waits for the write turn."""
        columns = list(StoredProgress._fields)
        await dialects.insert_tuples(
            self.conn, progress_t, columns, list(rows), update_on=["course", "learner_id"]
        )

    async def delete_progress_of_learners(self, learner_ids: Iterable[str]) -> None:
        for part in distinct_chunks(learner_ids):
            await self.conn.execute(delete(progress_t).where(progress_t.c.learner_id.in_(part)))

    async def delete_all_progress(self) -> None:
        await self.conn.execute(delete(progress_t))

    async def count_course(
        self, course: str, units: int, where: ProgressFilter
    ) -> dict[tuple[str | None, str | None], CourseCounts]:
        """A course's figures per (country, cohort), in one pass over its report index."""
        c = progress_t.c
        columns: list[Any] = [c.country, c.cohort]
        columns += [_count_if(c.status == s) for s in STATUSES]
        columns += [func.count(c.best_score), func.coalesce(func.sum(c.best_score), 0.0)]
        columns += [_count_if(_bucket_condition(n)) for n in range(SCORE_BUCKETS)]
        columns += [_count_if(_has_bit(c.started_mask, n)) for n in range(units)]
        columns += [_count_if(_has_bit(c.done_mask, n)) for n in range(units)]
        stmt = select(*columns).where(*_conditions(course, where)).group_by(c.country, c.cohort)
        groups: dict[tuple[str | None, str | None], CourseCounts] = {}
        for country, cohort, *values in await self.conn.execute(stmt):
            counts = [int(v) for v in values]
            buckets_at = len(STATUSES) + 2
            started_at = buckets_at + SCORE_BUCKETS
            groups[(country, cohort)] = CourseCounts(
                by_status=dict(zip(STATUSES, counts[: len(STATUSES)], strict=True)),
                scored=counts[len(STATUSES)],
                score_sum=float(values[len(STATUSES) + 1]),
                score_buckets=counts[buckets_at:started_at],
                started=counts[started_at : started_at + units],
                done=counts[started_at + units :],
            )
        return groups


def detail_json(data: dict[str, Any]) -> str:
    """Sorted keys, so the incremental path and a rebuild store byte-identical rows."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
