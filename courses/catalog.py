"""The course catalogue as values: courses, units, rules, and which activity IRIs count for what.

Catalogue files are read and validated by `courses._catalog_files`; what is stored in the
database and used by the aggregator are the normalised JSON documents this module turns
into a `Catalog`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

LANGUAGES = ("en", "fr")
DELIVERY_MODES = ("moodle", "package", "face-to-face")
# Unit kinds and the delivery mode each needs.
UNIT_KINDS = {
    "moodle-course": "moodle",
    "moodle-module": "moodle",
    "package": "package",
    "package-au": "package",
    "session": "face-to-face",
}
COURSE_LEVEL = ""  # unit id of a statement about the course activity itself


@dataclass(frozen=True)
class Session:
    """One face-to-face session (a cohort meeting in one place) of a session unit."""

    iri: str
    cohort: str
    country: str | None
    start: str | None
    days: int | None


@dataclass(frozen=True)
class Unit:
    id: str
    kind: str
    title: dict[str, str]
    iris: tuple[str, ...]
    sessions: tuple[Session, ...] = ()
    min_days: int = 1


@dataclass(frozen=True)
class CompletionRule:
    required: tuple[str, ...]
    passed: tuple[str, ...] = ()
    min_score: float | None = None
    min_attendance_days: int = 0

    @property
    def assessed(self) -> bool:
        """Whether the course ends in a pass/fail decision rather than bare completion."""
        return bool(self.passed) or self.min_score is not None


@dataclass(frozen=True)
class CertificationRule:
    prerequisites: tuple[str, ...] = ()
    validity_months: int | None = None


@dataclass(frozen=True)
class Course:
    code: str
    iri: str
    version: str
    title: dict[str, str]
    description: dict[str, str]
    delivery: tuple[str, ...]
    units: tuple[Unit, ...]
    completion: CompletionRule
    certification: CertificationRule

    def unit_position(self, unit_id: str) -> int:
        return next(n for n, unit in enumerate(self.units) if unit.id == unit_id)


@dataclass(frozen=True)
class Target:
    """What a statement about one activity IRI counts for: a course, and a unit of it."""

    course: str
    unit: str
    cohort: str | None = None
    country: str | None = None


@dataclass
class Catalog:
    courses: dict[str, Course]
    site_countries: dict[str, str]
    version: str
    targets: dict[str, list[Target]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    _dependents: dict[frozenset[str], frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.targets = _targets(self.courses.values(), self.site_countries)
        self.order = prerequisite_order(
            {code: course.certification.prerequisites for code, course in self.courses.items()}
        )

    def dependents(self, codes: Iterable[str]) -> set[str]:
        """These courses and every course whose certificate needs one of them, transitively."""
        wanted = frozenset(codes)
        known = self._dependents.get(wanted)
        if known is None:
            found = set(wanted)
            for code in self.order:
                if set(self.courses[code].certification.prerequisites) & found:
                    found.add(code)
            # The aggregator asks twice a learner and statement; the catalogue never changes.
            known = self._dependents[wanted] = frozenset(found)
        return set(known)


EMPTY_CATALOG_VERSION = "empty"


def empty_catalog() -> Catalog:
    return Catalog({}, {}, EMPTY_CATALOG_VERSION)


def moodle_site(iri: str) -> str | None:
    """The site of a Moodle course or module IRI ({site}/course/... or {site}/mod/...)."""
    for marker in ("/course/view.php", "/mod/"):
        if marker in iri:
            return iri.split(marker, 1)[0]
    return None


def _targets(courses: Iterable[Course], site_countries: dict[str, str]) -> dict[str, list[Target]]:
    targets: dict[str, list[Target]] = {}
    for course in courses:
        targets.setdefault(course.iri, []).append(Target(course.code, COURSE_LEVEL))
        for unit in course.units:
            for iri in unit.iris:
                site = moodle_site(iri) if unit.kind.startswith("moodle") else None
                country = site_countries.get(site) if site else None
                targets.setdefault(iri, []).append(Target(course.code, unit.id, country=country))
            for session in unit.sessions:
                target = Target(course.code, unit.id, session.cohort, session.country)
                targets.setdefault(session.iri, []).append(target)
    return targets


def prerequisite_order(prerequisites: dict[str, tuple[str, ...]]) -> list[str]:
    """Course codes, each after its prerequisites (the input must be acyclic)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(code: str) -> None:
        if code in placed:
            return
        placed.add(code)
        for needed in prerequisites.get(code, ()):
            if needed in prerequisites:
                place(needed)
        order.append(code)

    for code in sorted(prerequisites):
        place(code)
    return order


def find_prerequisite_cycle(prerequisites: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A cycle of prerequisites as [A, B, ..., A], or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(code: str) -> list[str] | None:
        state[code] = "open"
        path.append(code)
        for needed in prerequisites.get(code, ()):
            if state.get(needed) == "open":
                return [*path[path.index(needed) :], needed]
            if needed in prerequisites and needed not in state:
                cycle = visit(needed)
                if cycle:
                    return cycle
        path.pop()
        state[code] = "done"
        return None

    for code in sorted(prerequisites):
        if code not in state:
            cycle = visit(code)
            if cycle:
                return cycle
    return None


# --- normalised documents <-> values ----------------------------------------------------------


def document_version(document: dict[str, Any]) -> str:
    """A course's version: a hash of its normalised definition (so any change shows)."""
    canonical = {k: v for k, v in document.items() if k != "version"}
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def catalog_version(documents: list[dict[str, Any]], sites: dict[str, dict[str, Any]]) -> str:
    if not documents and not sites:
        return EMPTY_CATALOG_VERSION
    whole = {"courses": sorted(d["version"] for d in documents), "sites": sites}
    return hashlib.sha256(orjson.dumps(whole, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def course_from_document(doc: dict[str, Any]) -> Course:
    completion = doc["completion"]
    certification = doc["certification"]
    return Course(
        code=doc["code"],
        iri=doc["iri"],
        version=doc["version"],
        title=dict(doc["title"]),
        description=dict(doc["description"]),
        delivery=tuple(doc["delivery"]),
        units=tuple(_unit_from_document(u) for u in doc["units"]),
        completion=CompletionRule(
            required=tuple(completion["required"]),
            passed=tuple(completion["passed"]),
            min_score=completion["min_score"],
            min_attendance_days=completion["min_attendance_days"],
        ),
        certification=CertificationRule(
            prerequisites=tuple(certification["prerequisites"]),
            validity_months=certification["validity_months"],
        ),
    )


def _unit_from_document(doc: dict[str, Any]) -> Unit:
    return Unit(
        id=doc["id"],
        kind=doc["kind"],
        title=dict(doc["title"]),
        iris=tuple(doc["iris"]),
        sessions=tuple(Session(**s) for s in doc["sessions"]),
        min_days=doc["min_days"],
    )


def catalog_from_documents(
    documents: list[dict[str, Any]], sites: dict[str, dict[str, Any]]
) -> Catalog:
    courses = {doc["code"]: course_from_document(doc) for doc in documents}
    countries = {home: s["country"] for home, s in sites.items() if s.get("country")}
    return Catalog(courses, countries, catalog_version(documents, sites))


def localised(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")
