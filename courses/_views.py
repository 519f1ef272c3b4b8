"""How the progress API shows things: JSON documents and CSV tables, in French or English."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from courses._store_progress import SCORE_BUCKETS, CourseCounts
from courses.catalog import Course, localised
from courses.ops import CourseReport
from courses.ops_learners import CourseRecord, Transcript
from lrs.xapi.formats import parse_accept_language
from lrs.xapi.prepare import format_instant_ms

LANGUAGES = ("en", "fr")


def pick_language(header: str | None) -> str:
    """The first of French or English the Accept-Language header accepts; English otherwise."""
    for tag in parse_accept_language(header):
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def _instant(epoch_ms: int | None) -> str | None:
    return format_instant_ms(epoch_ms) if epoch_ms is not None else None


def course_json(course: Course, language: str, full: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "code": course.code,
        "iri": course.iri,
        "version": course.version,
        "title": localised(course.title, language),
        "description": localised(course.description, language),
        "delivery": list(course.delivery),
        "prerequisites": list(course.certification.prerequisites),
        "validity_months": course.certification.validity_months,
    }
    if full:
        shown["titles"] = course.title
        shown["units"] = [
            {
                "id": unit.id,
                "kind": unit.kind,
                "title": localised(unit.title, language),
                "iris": list(unit.iris),
                "sessions": [s.__dict__ for s in unit.sessions],
                **({"min_days": unit.min_days} if unit.kind == "session" else {}),
            }
            for unit in course.units
        ]
        rule = course.completion
        shown["completion"] = {
            "required": list(rule.required),
            "passed": list(rule.passed),
            "min_score": rule.min_score,
            "min_attendance_days": rule.min_attendance_days,
        }
    return shown


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _status_counts(counts: CourseCounts) -> dict[str, int]:
    return {"enrolled": counts.enrolled, **counts.by_status}


def report_json(report: CourseReport, language: str, filters: dict[str, str]) -> dict[str, Any]:
    counts, course = report.counts, report.course
    by_status = counts.by_status
    enrolled = counts.enrolled
    finished = by_status["completed"] + by_status["passed"] + by_status["failed"]
    return {
        "course": {
            "code": course.code,
            "title": localised(course.title, language),
            "version": course.version,
        },
        "filters": filters,
        "enrolled": enrolled,
        **by_status,
        "completion_rate": _rate(finished, enrolled),
        "pass_rate": _rate(by_status["passed"], enrolled) if course.completion.assessed else None,
        "scores": {
            "count": counts.scored,
            "average": round(counts.average_score, 4) if counts.average_score is not None else None,
            "distribution": [
                {"from": n / SCORE_BUCKETS, "to": (n + 1) / SCORE_BUCKETS, "count": count}
                for n, count in enumerate(counts.score_buckets)
            ],
        },
        "funnel": [
            {
                "unit": unit.id,
                "title": localised(unit.title, language),
                "started": started,
                "done": done,
            }
            for unit, started, done in zip(course.units, counts.started, counts.done, strict=True)
        ],
        "by_country": {k: _status_counts(v) for k, v in report.by_country.items()},
        "by_cohort": {k: _status_counts(v) for k, v in report.by_cohort.items()},
    }


def _record_json(record: CourseRecord, language: str) -> dict[str, Any]:
    p, course = record.progress, record.course
    certificate = p.certificate
    return {
        "code": course.code,
        "title": localised(course.title, language),
        "status": p.status,
        "best_score": p.best_score,
        "attendance_days": p.attendance_days,
        "first_activity": _instant(p.first_ms),
        "last_activity": _instant(p.last_ms),
        "completed_at": _instant(p.completed_ms),
        "certificate": (
            {"issued": _instant(certificate.issued_ms), "expires": _instant(certificate.expires_ms)}
            if certificate
            else None
        ),
        "missing_prerequisites": list(p.missing_prerequisites),
        "country": p.country,
        "cohort": p.cohort,
        "units": [
            {
                "id": unit.id,
                "title": localised(unit.title, language),
                "status": u.status,
                "score": u.score,
                "days": u.days,
                "first_activity": _instant(u.first_ms),
                "last_activity": _instant(u.last_ms),
                "done_at": _instant(u.done_ms),
            }
            for unit in course.units
            if (u := p.units.get(unit.id)) is not None
        ],
        "evidence": list(p.evidence),
    }


def transcript_json(transcript: Transcript, language: str) -> dict[str, Any]:
    return {
        "id": transcript.learner_id,
        "name": transcript.name,
        "identities": [
            {"agent": orjson.loads(i.agent), "name": i.name} for i in transcript.identities
        ],
        "courses": [_record_json(r, language) for r in transcript.records],
    }


def _cell(value: Any) -> Any:
    """A CSV cell; text a spreadsheet would run as a formula (a learner's name from a
    statement, say) is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def courses_csv(courses: list[Course], language: str) -> str:
    rows = [
        [
            c.code,
            localised(c.title, language),
            " ".join(c.delivery),
            len(c.units),
            " ".join(c.certification.prerequisites),
            c.certification.validity_months,
            c.version,
        ]
        for c in courses
    ]
    header = ["code", "title", "delivery", "units", "prerequisites", "validity_months", "version"]
    return _csv(header, rows)


def report_csv(report: dict[str, Any]) -> str:
    """The report as (section, key, value) rows, one figure per row."""
    rows: list[list[Any]] = [
        ["summary", key, report[key]]
        for key in (
            "enrolled",
            "in_progress",
            "completed",
            "passed",
            "failed",
            "completion_rate",
            "pass_rate",
        )
    ]
    rows.append(["scores", "count", report["scores"]["count"]])
    rows.append(["scores", "average", report["scores"]["average"]])
    rows += [
        ["score_distribution", f"{b['from']:.1f}-{b['to']:.1f}", b["count"]]
        for b in report["scores"]["distribution"]
    ]
    for step in report["funnel"]:
        rows += [
            ["funnel_started", step["unit"], step["started"]],
            ["funnel_done", step["unit"], step["done"]],
        ]
    for name in ("country", "cohort"):
        for key, value in report[f"by_{name}"].items():
            rows += [[f"{name}_{figure}", key, count] for figure, count in value.items()]
    return _csv(["section", "key", "value"], rows)


def transcript_csv(transcript: dict[str, Any]) -> str:
    rows = [
        [
            transcript["id"],
            transcript["name"],
            c["code"],
            c["title"],
            c["status"],
            c["best_score"],
            c["attendance_days"],
            c["first_activity"],
            c["last_activity"],
            c["completed_at"],
            (c["certificate"] or {}).get("expires"),
            " ".join(c["evidence"]),
        ]
        for c in transcript["courses"]
    ]
    header = [
        "learner",
        "name",
        "course",
        "title",
        "status",
        "best_score",
        "attendance_days",
        "first_activity",
        "last_activity",
        "completed_at",
        "certificate_expires",
        "evidence",
    ]
    return _csv(header, rows)
