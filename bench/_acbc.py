"""Generated statements over the ACBC catalogue, as its sources send them (bench/progress.py).

Moodle sites (logstore_xapi: course/module viewed and completed, quiz completion with a score),
a cmi5 package (launched, initialized, completed, passed/failed, terminated, satisfied),
attendance sheets (attended a face-to-face session, with days and the official's email), and
a share of statements about activities the catalogue does not know.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from courses.catalog import Catalog, Course, Unit

BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ADL = "http://adlnet.gov/expapi/verbs/"
W3ID = "https://w3id.org/xapi/adl/verbs/"
LMS = "http://id.tincanapi.com/activitytype/lms"
EXT = "https://acbc.iom.int/xapi/extensions/"
CMI5_LMS = "https://lms.acbc.iom.int"
SHEETS = "https://attendance.acbc.iom.int"
MBOX_SITES = {"https://formation-sn.acbc.iom.int"}  # sites whose logstore sends mbox, not account


class Generator:
    def __init__(self, catalog: Catalog, seed: int = 7) -> None:
        self.catalog = catalog
        self.rng = random.Random(seed)
        self.courses = list(catalog.courses.values())

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _when(self, start: datetime, step_hours: float) -> str:
        moment = start + timedelta(hours=step_hours)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def learner(self, number: int) -> Iterator[dict[str, Any]]:
        """Statements of one official, about ten, in the order they happened."""
        rng = self.rng
        start = BASE_TIME + timedelta(days=rng.randrange(300), hours=rng.randrange(10))
        email = f"official{number}@border.example.org"
        hours = 0.0
        for course in rng.sample(self.courses, rng.choice((1, 1, 2, 3))):
            site = self._site_for(course)
            stop = rng.randrange(1, len(course.units) + 1)
            for unit in course.units[:stop]:
                for statement in self._unit_statements(course, unit, number, email, site):
                    hours += rng.uniform(0.2, 30)
                    statement["timestamp"] = self._when(start, hours)
                    statement["id"] = self._uuid()
                    yield statement
            if rng.random() < 0.25:  # a visit elsewhere on the site
                hours += 1
                yield {
                    **self._moodle(
                        site,
                        number,
                        email,
                        f"{site}/mod/forum/view.php?id=99{number % 50}",
                        f"{site}/course/view.php?id=999",
                        ADL + "experienced",
                        None,
                    ),
                    "timestamp": self._when(start, hours),
                    "id": self._uuid(),
                }

    def _site_for(self, course: Course) -> str:
        iris = [
            iri for unit in course.units for iri in unit.iris if "/mod/" in iri or "/course/" in iri
        ]
        if not iris:
            return "https://campus.acbc.iom.int"
        return self.rng.choice(iris).split("/mod/")[0].split("/course/")[0]

    def _unit_statements(
        self, course: Course, unit: Unit, number: int, email: str, site: str
    ) -> list[dict[str, Any]]:
        rng = self.rng
        if unit.kind in ("moodle-course", "moodle-module"):
            iri = next((i for i in unit.iris if i.startswith(site)), unit.iris[0])
            course_iri = next(
                (
                    i
                    for u in course.units
                    for i in u.iris
                    if u.kind == "moodle-course" and i.startswith(site)
                ),
                f"{site}/course/view.php?id=1",
            )
            viewed = self._moodle(
                site, number, email, iri, course_iri, "http://id.tincanapi.com/verb/viewed", None
            )
            if rng.random() < 0.2:
                return [viewed]
            result = None
            if "/mod/quiz/" in iri or "/mod/assign/" in iri:
                scaled = round(min(1.0, max(0.0, rng.gauss(0.74, 0.15))), 2)
                result = {
                    "score": {"scaled": scaled, "raw": round(scaled * 20, 1), "min": 0, "max": 20},
                    "success": scaled >= 0.7,
                    "completion": True,
                }
            return [
                viewed,
                self._moodle(site, number, email, iri, course_iri, ADL + "completed", result),
            ]
        if unit.kind == "session":
            session = rng.choice(unit.sessions)
            days = rng.choice((1, 2, 3, session.days or 3))
            return [self._attended(number, email, session.iri, session.cohort, days)]
        return self._cmi5(unit, number)

    def _moodle(
        self,
        site: str,
        number: int,
        email: str,
        iri: str,
        course_iri: str,
        verb: str,
        result: dict[str, Any] | None,
    ) -> dict[str, Any]:
        actor: dict[str, Any] = {"name": f"Official {number}"}
        if site in MBOX_SITES:
            actor["mbox"] = f"mailto:{email}"
        else:
            actor["account"] = {"homePage": site, "name": str(10_000 + number)}
        statement: dict[str, Any] = {
            "actor": actor,
            "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[1]}},
            "object": {
                "id": iri,
                "definition": {
                    "type": LMS + ("/course" if "/course/" in iri else "/module"),
                    "name": {"en": "Module"},
                },
            },
            "context": {
                "platform": "Moodle",
                "language": "fr",
                "contextActivities": {
                    "grouping": [
                        {"id": site, "definition": {"type": LMS}},
                        {"id": course_iri, "definition": {"type": LMS + "/course"}},
                    ],
                    "category": [
                        {
                            "id": "http://moodle.org",
                            "definition": {"type": "http://id.tincanapi.com/activitytype/source"},
                        }
                    ],
                },
                "extensions": {
                    "http://lrs.learninglocker.net/define/extensions/info": {
                        "event_name": "\\core\\event\\course_module_completion_updated"
                    }
                },
            },
        }
        if result:
            statement["result"] = result
        return statement

    def _attended(
        self, number: int, email: str, session_iri: str, cohort: str, days: int
    ) -> dict[str, Any]:
        return {
            "actor": {
                "name": f"Official {number}",
                "account": {"homePage": SHEETS, "name": f"P-{number:06d}"},
            },
            "verb": {"id": ADL + "attended", "display": {"en": "attended"}},
            "object": {
                "id": session_iri,
                "definition": {"type": "http://adlnet.gov/expapi/activities/meeting"},
            },
            "result": {"extensions": {EXT + "attendance-days": days}},
            "context": {"extensions": {EXT + "email": email, EXT + "cohort": cohort}},
        }

    def _cmi5(self, unit: Unit, number: int) -> list[dict[str, Any]]:
        rng = self.rng
        actor = {
            "name": f"Official {number}",
            "account": {"homePage": CMI5_LMS, "name": f"u{number}"},
        }
        registration = self._uuid()
        iri = unit.iris[0]
        context = {
            "registration": registration,
            "contextActivities": {
                "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]
            },
        }

        def say(
            verb: str, result: dict[str, Any] | None = None, target: str = iri
        ) -> dict[str, Any]:
            statement = {
                "actor": actor,
                "verb": {"id": verb},
                "object": {"id": target},
                "context": context,
            }
            return {**statement, "result": result} if result else statement

        if unit.kind == "package":
            return [say(W3ID + "satisfied")]
        scaled = round(min(1.0, max(0.0, rng.gauss(0.78, 0.12))), 2)
        outcome = ADL + ("passed" if scaled >= 0.8 else "failed")
        return [
            say(ADL + "launched"),
            say(ADL + "initialized"),
            say(outcome, {"score": {"scaled": scaled}, "success": scaled >= 0.8}),
            say(ADL + "terminated"),
        ]

    def _void(self, target: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._uuid(),
            "actor": {"name": "ACBC registrar", "mbox": "mailto:registrar@acbc.example.org"},
            "verb": {"id": ADL + "voided", "display": {"en": "voided"}},
            "object": {"objectType": "StatementRef", "id": target["id"]},
        }

    def statements(self, total: int, learners: int, block: int = 500) -> Iterator[dict[str, Any]]:
        """`total` statements from `learners` officials, about total/learners each, interleaved
        within blocks of officials as concurrent sources interleave them."""
        per_learner = max(1, total // learners)
        produced = 0
        for first in range(0, learners, block):
            pending: list[dict[str, Any]] = []
            for number in range(first, min(first + block, learners)):
                mine = list(self.learner(number))[:per_learner]
                while len(mine) < per_learner:  # revisits of the course's first page
                    mine.append(
                        {
                            **mine[-1],
                            "id": self._uuid(),
                            "verb": {"id": "http://id.tincanapi.com/verb/viewed"},
                        }
                    )
                    mine[-1].pop("result", None)
                pending += mine
            self.rng.shuffle(pending)
            # A few corrections: an administrator voids a statement already sent.
            pending += [
                self._void(target) for target in self.rng.sample(pending, len(pending) // 500)
            ]
            for statement in pending:
                if produced == total:
                    return
                produced += 1
                yield statement
