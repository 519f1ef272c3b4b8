"""A learner's facts in one course, summarised so that summaries merge (pure, no I/O).

`summarize(a + b) == merge(summarize(a), summarize(b))` for any split of the facts: the
aggregator folds each new batch into the stored summary instead of re-reading every fact,
and `lrs progress rebuild` (one pass over everything) reaches the same summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from courses.facts import ACTIVITY, Fact

FINISHING = frozenset({"completed", "passed", "failed", "satisfied"})  # an attempt that ended
PASSING = frozenset({"passed", "satisfied"})  # cmi5 satisfied/waived meets whatever is asked

Stamp = tuple[int, int, str]  # (at_ms, seq, value): ordered by when, then by storage order


class UnitSummary(NamedTuple):
    first: Stamp  # the earliest fact: (at_ms, seq, statement id)
    last_ms: int
    finished_ms: int | None  # earliest completed/passed/failed/satisfied
    passed_ms: int | None  # earliest passed/satisfied
    failed: bool
    days: dict[str, int]  # day attended -> earliest record of it
    # (at_ms, score): the earliest moment each new best score was reached, so "when did the
    # score first reach X" is answerable for any X and two frontiers merge exactly.
    frontier: tuple[tuple[int, float], ...]
    decided: dict[str, int]  # outcome statements -> seq

    @property
    def best(self) -> float | None:
        return max((score for _, score in self.frontier), default=None)

    def reached_score_ms(self, minimum: float) -> int | None:
        return min((at for at, score in self.frontier if score >= minimum), default=None)


class CourseSummary(NamedTuple):
    units: dict[str, UnitSummary]  # by unit id; "" holds statements about the course itself
    country: Stamp | None  # the latest country seen
    cohort: Stamp | None  # the latest cohort seen


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _later(a: Stamp | None, b: Stamp | None) -> Stamp | None:
    return b if a is None else a if b is None else max(a, b)


def _frontier(points: Iterable[tuple[int, float]]) -> tuple[tuple[int, float], ...]:
    kept: list[tuple[int, float]] = []
    for at, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not kept or score > kept[-1][1]:
            kept.append((at, score))
    return tuple(kept)


def _merge_days(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    merged = dict(a)
    for day, at in b.items():
        merged[day] = min(at, merged.get(day, at))
    return merged


def merge_units(a: UnitSummary, b: UnitSummary) -> UnitSummary:
    return UnitSummary(
        first=min(a.first, b.first),
        last_ms=max(a.last_ms, b.last_ms),
        finished_ms=_min(a.finished_ms, b.finished_ms),
        passed_ms=_min(a.passed_ms, b.passed_ms),
        failed=a.failed or b.failed,
        days=_merge_days(a.days, b.days),
        frontier=_frontier((*a.frontier, *b.frontier)),
        decided={**a.decided, **b.decided},
    )


def merge(a: CourseSummary | None, b: CourseSummary | None) -> CourseSummary | None:
    if a is None or b is None:
        return a or b
    units = dict(a.units)
    for unit_id, summary in b.units.items():
        units[unit_id] = merge_units(units[unit_id], summary) if unit_id in units else summary
    return CourseSummary(units, _later(a.country, b.country), _later(a.cohort, b.cohort))


def _attended_days(fact: Fact, into: dict[str, int]) -> None:
    first = datetime.fromtimestamp(fact.at_ms / 1000, tz=UTC).date()
    for n in range(fact.days):
        day = (first + timedelta(days=n)).isoformat()
        into[day] = min(fact.at_ms, into.get(day, fact.at_ms))


def _summarize_unit(facts: list[Fact]) -> UnitSummary:
    days: dict[str, int] = {}
    decided: dict[str, int] = {}
    points: list[tuple[int, float]] = []
    finished: list[int] = []
    passed: list[int] = []
    for fact in facts:
        outcome = fact.outcome
        if outcome != ACTIVITY:
            decided[fact.statement_id] = fact.seq
            if outcome in FINISHING:
                finished.append(fact.at_ms)
            if outcome in PASSING:
                passed.append(fact.at_ms)
            elif outcome == "attended":
                _attended_days(fact, days)
        if fact.score is not None:
            points.append((fact.at_ms, fact.score))
    return UnitSummary(
        first=min((f.at_ms, f.seq, f.statement_id) for f in facts),
        last_ms=max(f.at_ms for f in facts),
        finished_ms=min(finished, default=None),
        passed_ms=min(passed, default=None),
        failed=any(f.outcome == "failed" for f in facts),
        days=days,
        frontier=_frontier(points),
        decided=decided,
    )


def _latest(values: list[tuple[int, int, str | None]]) -> Stamp | None:
    """The latest (at_ms, seq, value) that has a value."""
    stamps = [(at, seq, value) for at, seq, value in values if value]
    return max(stamps) if stamps else None


def summarize(facts: Iterable[Fact]) -> CourseSummary | None:
    """The summary of one learner's facts in one course; None when there are none.

    Equal to merging the summaries of the facts one at a time (tests check it), only faster.
    """
    by_unit: dict[str, list[Fact]] = {}
    for fact in facts:
        by_unit.setdefault(fact.unit, []).append(fact)
    if not by_unit:
        return None
    every = [f for unit_facts in by_unit.values() for f in unit_facts]
    return CourseSummary(
        {unit_id: _summarize_unit(unit_facts) for unit_id, unit_facts in by_unit.items()},
        _latest([(f.at_ms, f.seq, f.country) for f in every]),
        _latest([(f.at_ms, f.seq, f.cohort) for f in every]),
    )


# --- JSON form, kept in the progress row -------------------------------------------------


def unit_to_json(unit: UnitSummary) -> dict[str, Any]:
    return {
        "first": list(unit.first),
        "last": unit.last_ms,
        "finished": unit.finished_ms,
        "passed": unit.passed_ms,
        "failed": unit.failed,
        "days": unit.days,
        "frontier": [list(p) for p in unit.frontier],
        "decided": unit.decided,
    }


def unit_from_json(data: dict[str, Any]) -> UnitSummary:
    at, seq, statement_id = data["first"]
    return UnitSummary(
        first=(at, seq, statement_id),
        last_ms=data["last"],
        finished_ms=data["finished"],
        passed_ms=data["passed"],
        failed=data["failed"],
        days=dict(data["days"]),
        frontier=tuple((at_ms, float(score)) for at_ms, score in data["frontier"]),
        decided=dict(data["decided"]),
    )


def to_json(summary: CourseSummary) -> dict[str, Any]:
    return {
        "units": {unit_id: unit_to_json(u) for unit_id, u in sorted(summary.units.items())},
        "country": list(summary.country) if summary.country else None,
        "cohort": list(summary.cohort) if summary.cohort else None,
    }


def _stamp(value: Any) -> Stamp | None:
    return (value[0], value[1], value[2]) if value else None


def from_json(data: dict[str, Any]) -> CourseSummary:
    units = {unit_id: unit_from_json(u) for unit_id, u in data["units"].items()}
    return CourseSummary(units, _stamp(data["country"]), _stamp(data["cohort"]))
