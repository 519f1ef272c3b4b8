"""Completion and certification rules, and the summaries they are decided from (pure functions)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from courses._catalog_files import read_catalog_dir
from courses.catalog import Catalog, catalog_from_documents
from courses.config import DEFAULT_CATALOG_DIR
from courses.facts import Fact
from courses.rules import Certificate, add_months, evaluate
from courses.summary import from_json, merge, summarize, to_json

_LOADED = read_catalog_dir(DEFAULT_CATALOG_DIR, "https://acbc.iom.int/xapi")
CATALOG: Catalog = catalog_from_documents(_LOADED.courses, _LOADED.sites)
DAY = 86_400_000
T0 = int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp() * 1000)


def fact(
    unit: str,
    outcome: str = "activity",
    at: int = T0,
    course: str = "IBM-101",
    seq: int = 1,
    score: float | None = None,
    days: int = 0,
    country: str | None = None,
    cohort: str | None = None,
) -> Fact:
    return Fact(
        seq,
        f"s{seq:04d}",
        "mbox:mailto:a@example.org",
        course,
        unit,
        outcome,
        score,
        days,
        at,
        country,
        cohort,
    )


def test_merging_summaries_in_any_split_and_order_equals_summarizing_everything() -> None:
    rng = random.Random(11)
    units = ["orientation", "pillars", "final-quiz", "moodle-course", ""]
    outcomes = ["activity", "completed", "passed", "failed", "satisfied", "attended"]
    for _ in range(200):
        facts = [
            fact(
                rng.choice(units),
                rng.choice(outcomes),
                T0 + rng.randrange(40) * DAY // 4,
                seq=n,
                score=rng.choice([None, round(rng.random(), 2)]),
                days=rng.randrange(0, 3),
                country=rng.choice([None, "SN", "KE"]),
                cohort=rng.choice([None, "C1", "C2"]),
            )
            for n in range(rng.randrange(1, 12))
        ]
        whole = summarize(facts)
        shuffled = facts[:]
        rng.shuffle(shuffled)
        cut = rng.randrange(len(facts) + 1)
        folded = merge(summarize(shuffled[:cut]), summarize(shuffled[cut:]))
        one_by_one = None
        for f in shuffled:
            one_by_one = merge(one_by_one, summarize([f]))
        assert folded == whole == one_by_one
        assert whole is not None and from_json(to_json(whole)) == whole
        assert merge(whole, whole) == whole  # folding a statement twice changes nothing


def _ibm(*facts: Fact) -> str:
    progress = evaluate(CATALOG.courses["IBM-101"], list(facts), {})
    assert progress is not None
    return progress.status


def test_ibm_needs_every_module_and_a_pass_of_at_least_the_minimum_score() -> None:
    done = [
        fact(u, "completed", seq=n)
        for n, u in enumerate(["orientation", "pillars", "interagency"], 1)
    ]
    assert evaluate(CATALOG.courses["IBM-101"], [], {}) is None
    assert _ibm(fact("orientation")) == "in_progress"
    assert _ibm(*done) == "in_progress"
    assert _ibm(*done, fact("final-quiz", "passed", seq=9, score=0.82)) == "passed"
    assert _ibm(*done, fact("final-quiz", "passed", seq=9, score=0.65)) == "failed"  # below 0.7
    assert _ibm(*done, fact("final-quiz", "failed", seq=9, score=0.4)) == "failed"
    assert (
        _ibm(
            *done,
            fact("final-quiz", "failed", seq=9, score=0.4),
            fact("final-quiz", "passed", seq=10, score=0.9, at=T0 + DAY),
        )
        == "passed"
    )


def test_the_completion_date_is_when_the_last_requirement_was_met() -> None:
    facts = [
        fact("orientation", "completed", T0, seq=1),
        fact("pillars", "completed", T0 + 5 * DAY, seq=2),
        fact("interagency", "completed", T0 + DAY, seq=3),
        fact("final-quiz", "passed", T0 + 2 * DAY, seq=4, score=0.6),
        fact("final-quiz", "passed", T0 + 9 * DAY, seq=5, score=0.75),
    ]
    progress = evaluate(CATALOG.courses["IBM-101"], facts, {})
    assert progress is not None and progress.status == "passed"
    assert progress.completed_ms == T0 + 9 * DAY  # the score reached 0.7 only then
    assert progress.best_score == 0.75
    assert progress.certificate == Certificate(T0 + 9 * DAY, add_months(T0 + 9 * DAY, 36))
    assert set(progress.evidence) == {"s0001", "s0002", "s0003", "s0004", "s0005"}


def test_attendance_counts_distinct_days_across_sheets() -> None:
    course = CATALOG.courses["CPBA-110"]
    reading = fact("pre-reading", "completed", T0 - 20 * DAY, course="CPBA-110", seq=1)
    day = [
        fact(
            "workshop",
            "attended",
            T0 + n * DAY,
            course="CPBA-110",
            seq=10 + n,
            days=1,
            country="NE",
            cohort="CPBA-2026-NIM",
        )
        for n in range(5)
    ]
    again = fact("workshop", "attended", T0 + DAY + 3600_000, course="CPBA-110", seq=20, days=1)
    three = evaluate(course, [reading, *day[:3], again], {})
    assert three is not None and (three.status, three.attendance_days) == ("in_progress", 3)
    four = evaluate(course, [reading, *day[:4], again], {})
    assert four is not None and (four.status, four.completed_ms) == ("completed", T0 + 3 * DAY)
    assert (four.country, four.cohort) == ("NE", "CPBA-2026-NIM")
    block = evaluate(
        course, [reading, fact("workshop", "attended", T0, course="CPBA-110", seq=30, days=5)], {}
    )
    assert block is not None and (block.status, block.attendance_days) == ("completed", 5)


def test_cmi5_satisfied_passes_the_package() -> None:
    course = CATALOG.courses["HBM-120"]
    aus = [
        fact(u, "completed", seq=n, course="HBM-120")
        for n, u in enumerate(["principles", "mass-arrivals", "health-screening"], 1)
    ]
    final = fact("final-assessment", "passed", seq=4, course="HBM-120", score=0.86)
    partial = evaluate(course, [*aus, final], {})
    assert partial is not None and partial.status == "in_progress" and partial.best_score == 0.86
    whole = evaluate(
        course, [*aus, final, fact("package", "satisfied", T0 + DAY, seq=5, course="HBM-120")], {}
    )
    assert whole is not None and whole.status == "passed" and whole.completed_ms == T0 + DAY
    assert whole.started_mask == 0b11111 and whole.done_mask == 0b11111


def _tot_passed(at: int) -> list[Fact]:
    return [
        fact("adult-learning", "completed", at, course="TOT-400", seq=1),
        *[
            fact("facilitation", "attended", at + n * DAY, course="TOT-400", seq=2 + n, days=1)
            for n in range(4)
        ],
        fact("micro-teaching", "passed", at + 5 * DAY, course="TOT-400", seq=9),
    ]


def test_a_trainer_certificate_needs_a_valid_base_certificate() -> None:
    course = CATALOG.courses["TOT-400"]
    done_at = T0 + 5 * DAY
    base = Certificate(T0 - 100 * DAY, add_months(T0 - 100 * DAY, 36))
    with_base = evaluate(course, _tot_passed(T0), {"IBM-101": base})
    assert with_base is not None and with_base.status == "passed"
    assert with_base.certificate == Certificate(done_at, add_months(done_at, 24))
    without = evaluate(course, _tot_passed(T0), {"IBM-101": None})
    assert without is not None and without.status == "passed"
    assert without.certificate is None and without.missing_prerequisites == ("IBM-101",)
    expired = Certificate(T0 - 4 * 366 * DAY, T0 - 366 * DAY)
    late = evaluate(course, _tot_passed(T0), {"IBM-101": expired})
    assert (
        late is not None and late.certificate is None and late.missing_prerequisites == ("IBM-101",)
    )


def test_months_are_calendar_months() -> None:
    jan31 = int(datetime(2026, 1, 31, 12, tzinfo=UTC).timestamp() * 1000)
    assert add_months(jan31, 1) == int(datetime(2026, 2, 28, 12, tzinfo=UTC).timestamp() * 1000)
    assert add_months(jan31, 36) == int(datetime(2029, 1, 31, 12, tzinfo=UTC).timestamp() * 1000)
