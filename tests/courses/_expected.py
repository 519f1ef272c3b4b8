"""The progress report a designer should see, counted from the test's own ledger of statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.courses._scenario import RULES, Event, Scenario

FINISHED = {"done", "pass", "fail", "satisfied"}


def learner_groups(scenario: Scenario, links: list[tuple[str, str]]) -> dict[str, str]:
    """identity -> one representative per person: same email, or linked by an administrator."""
    parent = {identity: identity for identity in scenario.agents}

    def root(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    by_email: dict[str, str] = {}
    for identity, email in scenario.emails.items():
        if email in by_email:
            parent[root(identity)] = root(by_email[email])
        by_email.setdefault(email, identity)
    for a, b in links:
        parent[root(a)] = root(b)
    return {identity: root(identity) for identity in parent}


@dataclass
class Row:
    status: str
    started: set[str]
    done: set[str]
    best: float | None
    first: datetime
    last: datetime
    country: str | None
    cohort: str | None


def _days(events: list[Event]) -> set[Any]:
    return {
        (e.at + timedelta(days=n)).date()
        for e in events
        if e.kind == "attend"
        for n in range(e.days)
    }


def _row(course: str, events: list[Event]) -> Row:
    rule = RULES[course]
    started = {e.unit for e in events}
    passed = {e.unit for e in events if e.kind in ("pass", "satisfied")}
    failed = {e.unit for e in events if e.kind == "fail"} - passed
    done = {e.unit for e in events if e.kind in FINISHED}
    for unit, needed in rule["sessions"].items():
        if len(_days([e for e in events if e.unit == unit])) >= needed:
            done.add(unit)
    scores = [e.score for e in events if e.score is not None]
    best = max(scores) if scores else None
    assessed = bool(rule["passed"]) or rule["min_score"] is not None
    if not (all(u in done for u in rule["required"]) and len(_days(events)) >= rule["min_days"]):
        status = "in_progress"
    elif not assessed:
        status = "completed"
    elif all(u in passed for u in rule["passed"]) and (
        rule["min_score"] is None or (best or 0) >= rule["min_score"]
    ):
        status = "passed"
    elif any(u in failed for u in rule["passed"]) or (
        rule["min_score"] is not None and best is not None and best < rule["min_score"]
    ):
        status = "failed"
    else:
        status = "completed"
    ordered = sorted(events, key=lambda e: e.at)
    country = next((e.country for e in reversed(ordered) if e.country), None)
    cohort = next((e.cohort for e in reversed(ordered) if e.cohort), None)
    return Row(status, started, done, best, ordered[0].at, ordered[-1].at, country, cohort)


def expected_rows(scenario: Scenario, groups: dict[str, str], course: str) -> dict[str, Row]:
    by_learner: dict[str, list[Event]] = {}
    for event in scenario.events:
        if event.course == course and not event.voided:
            by_learner.setdefault(groups[event.identity], []).append(event)
    return {learner: _row(course, events) for learner, events in by_learner.items()}


def expected_report(
    rows: dict[str, Row],
    course: str,
    since: datetime | None = None,
    until: datetime | None = None,
    country: str | None = None,
    cohort: str | None = None,
) -> dict[str, Any]:
    chosen = [
        r
        for r in rows.values()
        if (since is None or r.last >= since)
        and (until is None or r.first <= until)
        and (country is None or r.country == country)
        and (cohort is None or r.cohort == cohort)
    ]
    count = {
        s: sum(1 for r in chosen if r.status == s)
        for s in ("in_progress", "completed", "passed", "failed")
    }
    scores = [r.best for r in chosen if r.best is not None]
    buckets = [
        sum(1 for s in scores if n / 10 <= s < (n + 1) / 10 or (n == 9 and s >= 0.9))
        for n in range(10)
    ]
    buckets[0] += sum(1 for s in scores if s < 0)
    units = RULES[course]["units"]
    return {
        "enrolled": len(chosen),
        **count,
        "scored": len(scores),
        "average": sum(scores) / len(scores) if scores else None,
        "buckets": buckets,
        "started": [sum(1 for r in chosen if u in r.started) for u in units],
        "done": [sum(1 for r in chosen if u in r.done) for u in units],
    }


def expected_groups(rows: dict[str, Row], attribute: str) -> dict[str, dict[str, int]]:
    """Per country (or cohort): enrolled and each status."""
    groups: dict[str, dict[str, int]] = {}
    for row in rows.values():
        key = getattr(row, attribute)
        if key is None:
            continue
        counts = groups.setdefault(
            key, {"enrolled": 0, "in_progress": 0, "completed": 0, "passed": 0, "failed": 0}
        )
        counts["enrolled"] += 1
        counts[row.status] += 1
    return dict(sorted(groups.items()))


def reported(body: dict[str, Any]) -> dict[str, Any]:
    """The same figures, read from the API's answer."""
    return {
        "enrolled": body["enrolled"],
        **{s: body[s] for s in ("in_progress", "completed", "passed", "failed")},
        "scored": body["scores"]["count"],
        "average": body["scores"]["average"],
        "buckets": [b["count"] for b in body["scores"]["distribution"]],
        "started": [step["started"] for step in body["funnel"]],
        "done": [step["done"] for step in body["funnel"]],
    }
