"""Completion and certification rules: a learner's course summary -> their progress (pure).

Statuses: `in_progress` once any statement counts for the course; `completed` when every
required unit is done (and enough days were attended); for an assessed course (one with
units to pass or a minimum score) `passed` or `failed` once the assessment decides. A
certificate follows a finished course when every prerequisite certificate was valid then.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from courses.catalog import Course, Unit
from courses.facts import Fact
from courses.summary import CourseSummary, UnitSummary, summarize

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
PASSED = "passed"
FAILED = "failed"
STATUSES = (NOT_STARTED, IN_PROGRESS, COMPLETED, PASSED, FAILED)


class UnitProgress(NamedTuple):
    status: str
    score: float | None
    days: int
    first_ms: int
    last_ms: int
    done_ms: int | None  # when first completed, passed or failed (an attempt that ended)

    @property
    def done(self) -> bool:
        return self.done_ms is not None


class Certificate(NamedTuple):
    issued_ms: int
    expires_ms: int | None

    def valid_at(self, moment_ms: int) -> bool:
        return self.issued_ms <= moment_ms and (
            self.expires_ms is None or moment_ms < self.expires_ms
        )


class Progress(NamedTuple):
    course: str
    status: str
    units: dict[str, UnitProgress]
    best_score: float | None
    attendance_days: int
    first_ms: int
    last_ms: int
    completed_ms: int | None
    certificate: Certificate | None
    missing_prerequisites: tuple[str, ...]
    country: str | None
    cohort: str | None
    summary: CourseSummary
    started_mask: int
    done_mask: int

    @property
    def evidence(self) -> tuple[str, ...]:
        """The statements that decided something (worked out when asked: the aggregator,
        which decides a learner at every statement, never needs them)."""
        return evidence(self.summary)


def _days_reached(days: dict[str, int], needed: int) -> int | None:
    """When the `needed`-th distinct day was first recorded (None if never)."""
    moments = sorted(days.values())
    return moments[needed - 1] if needed and len(moments) >= needed else None


def decide_unit(unit: Unit, summary: UnitSummary) -> UnitProgress:
    done_ms = summary.finished_ms
    if unit.kind == "session":
        done_ms = min(
            (m for m in (done_ms, _days_reached(summary.days, unit.min_days)) if m is not None),
            default=None,
        )
    if summary.passed_ms is not None:
        status = PASSED
    elif summary.failed:
        status = FAILED
    elif done_ms is not None:
        status = COMPLETED
    else:
        status = IN_PROGRESS
    return UnitProgress(
        status, summary.best, len(summary.days), summary.first[0], summary.last_ms, done_ms
    )


def _status(
    course: Course, units: dict[str, UnitProgress], best: float | None, days_ok: bool
) -> str:
    rule = course.completion
    if not (days_ok and all(u in units and units[u].done for u in rule.required)):
        return IN_PROGRESS
    if not rule.assessed:
        return COMPLETED
    passes = all(u in units and units[u].status == PASSED for u in rule.passed)
    score_ok = rule.min_score is None or (best is not None and best >= rule.min_score)
    if passes and score_ok:
        return PASSED
    failed_unit = any(u in units and units[u].status == FAILED for u in rule.passed)
    low_score = rule.min_score is not None and best is not None and best < rule.min_score
    return FAILED if failed_unit or low_score else COMPLETED


def _completed_ms(
    course: Course,
    status: str,
    summary: CourseSummary,
    units: dict[str, UnitProgress],
    days_reached: int | None,
) -> int | None:
    """When the course was completed or passed: the last of the moments its rule needed."""
    if status not in (COMPLETED, PASSED):
        return None
    rule = course.completion
    moments = [units[u].done_ms or 0 for u in rule.required]
    if rule.min_attendance_days:
        moments.append(days_reached or 0)
    if status == PASSED:
        moments += [summary.units[u].passed_ms or 0 for u in rule.passed]
        if rule.min_score is not None:
            reached = [s.reached_score_ms(rule.min_score) for s in summary.units.values()]
            moments.append(min((m for m in reached if m is not None), default=0))
    return max(moments)


def add_months(moment_ms: int, months: int) -> int:
    moment = datetime.fromtimestamp(moment_ms / 1000, tz=UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp() * 1000)


def _certificate(
    course: Course,
    status: str,
    completed_ms: int | None,
    held: Mapping[str, Certificate | None],
) -> tuple[Certificate | None, tuple[str, ...]]:
    finished = PASSED if course.completion.assessed else COMPLETED
    if completed_ms is None or status != finished:
        return None, ()
    missing = tuple(
        code
        for code in course.certification.prerequisites
        if (cert := held.get(code)) is None or not cert.valid_at(completed_ms)
    )
    if missing:
        return None, missing
    months = course.certification.validity_months
    return Certificate(completed_ms, add_months(completed_ms, months) if months else None), ()


def _attendance(course: Course, summary: CourseSummary) -> tuple[int, int | None]:
    """Distinct days attended over all the course's sessions, and when the minimum was reached."""
    days: dict[str, int] = {}
    for unit in course.units:
        if unit.kind == "session" and unit.id in summary.units:
            for day, at in summary.units[unit.id].days.items():
                days[day] = min(at, days.get(day, at))
    return len(days), _days_reached(days, course.completion.min_attendance_days)


def evidence(summary: CourseSummary) -> tuple[str, ...]:
    """Statements that decided something, plus the first statement seen in each unit."""
    chosen: dict[str, int] = {}
    for unit in summary.units.values():
        chosen.update(unit.decided)
        chosen[unit.first[2]] = unit.first[1]
    return tuple(sorted(chosen, key=lambda statement_id: (chosen[statement_id], statement_id)))


def decide(
    course: Course, summary: CourseSummary, prerequisites: Mapping[str, Certificate | None]
) -> Progress:
    """A learner's progress in a course from their summary in it.

    `prerequisites` holds the learner's certificate (or None) for each prerequisite course.
    """
    units = {
        u.id: decide_unit(u, summary.units[u.id]) for u in course.units if u.id in summary.units
    }
    best = max((p.score for p in units.values() if p.score is not None), default=None)
    days, days_reached = _attendance(course, summary)
    status = _status(course, units, best, days >= course.completion.min_attendance_days)
    completed_ms = _completed_ms(course, status, summary, units, days_reached)
    certificate, missing = _certificate(course, status, completed_ms, prerequisites)
    started = done = 0
    for position, unit in enumerate(course.units):
        if unit.id in units:
            started |= 1 << position
            done |= (1 << position) if units[unit.id].done else 0
    return Progress(
        course=course.code,
        status=status,
        units=units,
        best_score=best,
        attendance_days=days,
        first_ms=min(u.first[0] for u in summary.units.values()),
        last_ms=max(u.last_ms for u in summary.units.values()),
        completed_ms=completed_ms,
        certificate=certificate,
        missing_prerequisites=missing,
        country=summary.country[2] if summary.country else None,
        cohort=summary.cohort[2] if summary.cohort else None,
        summary=summary,
        started_mask=started,
        done_mask=done,
    )


def evaluate(
    course: Course, facts: list[Fact], prerequisites: Mapping[str, Certificate | None]
) -> Progress | None:
    """Progress straight from facts (None without any): what the aggregator's folds must equal."""
    summary = summarize(facts)
    return decide(course, summary, prerequisites) if summary is not None else None
