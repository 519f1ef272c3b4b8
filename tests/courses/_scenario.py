"""Generated but realistic ACBC activity, and the numbers a designer should see, counted apart.

Officials take IBM-101 on three Moodle sites (formation-sn sends mbox actors, the others
accounts; some officials move from the campus to their national site mid-course), HBM-120 as a
cmi5 package, and CPBA-110 as Moodle pre-reading plus a face-to-face workshop recorded from
attendance sheets (accounts carrying the official's email). A registrar voids some statements.

The test keeps its own ledger of what it sent (`Event`s) and counts from it with the course
rules written out below, not with the plugin's code.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

ADL = "http://adlnet.gov/expapi/verbs/"
W3ID = "https://w3id.org/xapi/adl/verbs/"
LMS_TYPE = "http://id.tincanapi.com/activitytype/lms"
EXT = "https://acbc.iom.int/xapi/extensions/"
BASE = "https://acbc.iom.int/xapi"
CAMPUS, SN_SITE, KE_SITE, NE_SITE = (
    "https://campus.acbc.iom.int",
    "https://formation-sn.acbc.iom.int",
    "https://training-ke.acbc.iom.int",
    "https://formation-ne.acbc.iom.int",
)
SHEETS, CMI5_LMS = "https://attendance.acbc.iom.int", "https://lms.acbc.iom.int"

# IBM-101 on each site: course id and module ids (courses/catalog/ibm-101.toml).
IBM_SITES = {
    CAMPUS: (
        12,
        {
            "orientation": ("page", 1201),
            "pillars": ("scorm", 1202),
            "interagency": ("lesson", 1203),
            "final-quiz": ("quiz", 1204),
        },
    ),
    SN_SITE: (
        4,
        {
            "orientation": ("page", 401),
            "pillars": ("scorm", 402),
            "interagency": ("lesson", 403),
            "final-quiz": ("quiz", 404),
        },
    ),
    KE_SITE: (
        7,
        {
            "orientation": ("page", 701),
            "pillars": ("scorm", 702),
            "interagency": ("lesson", 703),
            "final-quiz": ("quiz", 704),
        },
    ),
}
IBM_MODULES = ["orientation", "pillars", "interagency", "final-quiz"]
HBM_AUS = ["principles", "mass-arrivals", "health-screening", "final-assessment"]
CPBA_READING = {CAMPUS: 1101, NE_SITE: 201, SN_SITE: 231}
CPBA_SESSIONS = {  # country -> (session IRI, cohort, country, first day)
    "NE": (f"{BASE}/sessions/cpba-110/2026-niamey", "CPBA-2026-NIM", "NE", date(2026, 2, 16)),
    "other": (f"{BASE}/sessions/cpba-110/2026-moshi", "CPBA-2026-MSH", "TZ", date(2026, 6, 8)),
}

# The course rules as the catalogue states them, written out for the independent count.
RULES: dict[str, dict[str, Any]] = {
    "IBM-101": {
        "units": ["moodle-course", *IBM_MODULES],
        "required": IBM_MODULES,
        "passed": ["final-quiz"],
        "min_score": 0.7,
        "min_days": 0,
        "sessions": {},
    },
    "HBM-120": {
        "units": [*HBM_AUS, "package"],
        "required": ["package"],
        "passed": ["package"],
        "min_score": None,
        "min_days": 0,
        "sessions": {},
    },
    "CPBA-110": {
        "units": ["pre-reading", "workshop"],
        "required": ["pre-reading", "workshop"],
        "passed": [],
        "min_score": None,
        "min_days": 4,
        "sessions": {"workshop": 4},
    },
}


@dataclass
class Event:
    """One statement the test sent, as the test understands it."""

    identity: str
    course: str
    unit: str
    kind: str  # visit, done, pass, fail, satisfied, attend
    at: datetime
    statement_id: str
    score: float | None = None
    days: int = 0
    country: str | None = None
    cohort: str | None = None
    voided: bool = False


@dataclass
class Scenario:
    statements: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # identity -> email it shows
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # identity -> xAPI agent
    movers: list[tuple[str, str]] = field(default_factory=list)  # identities an admin must link
    voids: list[dict[str, Any]] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.s = Scenario()

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _identity(self, label: str, agent: dict[str, Any], email: str | None = None) -> str:
        self.s.agents[label] = {k: v for k, v in agent.items() if k != "name"}
        if email:
            self.s.emails[label] = email
        return label

    def _send(self, statement: dict[str, Any], event: Event | None) -> None:
        statement["id"] = event.statement_id if event else self._id()
        self.s.statements.append(statement)
        if event:
            self.s.events.append(event)

    # --- Moodle (logstore_xapi) -------------------------------------------------------------

    def _moodle_actor(self, site: str, person: int, email: str) -> tuple[str, dict[str, Any]]:
        if site == SN_SITE:  # this site's plugin is set to send mbox
            agent = {"name": f"Official {person}", "mbox": f"mailto:{email}"}
            return self._identity(f"mbox:{email}", agent, email), agent
        agent = {
            "name": f"Official {person}",
            "account": {"homePage": site, "name": str(1000 + person)},
        }
        return self._identity(f"{site}#{1000 + person}", agent), agent

    def _moodle(
        self,
        site: str,
        person: int,
        email: str,
        obj: str,
        course_iri: str,
        verb: str,
        at: datetime,
        result: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        identity, actor = self._moodle_actor(site, person, email)
        kind_type = LMS_TYPE + ("/course" if "/course/" in obj else "/module")
        statement = {
            "actor": actor,
            "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[1]}},
            "object": {"id": obj, "definition": {"type": kind_type, "name": {"fr": "Module"}}},
            "timestamp": _iso(at),
            "context": {
                "platform": "Moodle",
                "language": "fr",
                "contextActivities": {
                    "grouping": [
                        {"id": site, "definition": {"type": LMS_TYPE}},
                        {"id": course_iri, "definition": {"type": LMS_TYPE + "/course"}},
                    ],
                    "category": [{"id": "http://moodle.org"}],
                },
            },
        }
        if result:
            statement["result"] = result
        return identity, statement

    def ibm(self, person: int, email: str, country: str, start: datetime) -> None:
        rng = self.rng
        mover = country == "SN" and rng.random() < 0.35
        home = {"SN": SN_SITE, "KE": KE_SITE}.get(country, CAMPUS)
        reached = rng.choice([1, 2, 3, 4, 4, 4, 4])
        at = start
        for position, module in enumerate(IBM_MODULES[:reached]):
            site = CAMPUS if mover and position < 2 else home
            course_id, modules = IBM_SITES[site]
            name, module_id = modules[module]
            course_iri = f"{site}/course/view.php?id={course_id}"
            iri = f"{site}/mod/{name}/view.php?id={module_id}"
            site_country = {SN_SITE: "SN", KE_SITE: "KE"}.get(site)
            at += timedelta(hours=rng.randrange(2, 40))
            identity, st = self._moodle(
                site, person, email, iri, course_iri, "http://id.tincanapi.com/verb/viewed", at
            )
            self._send(
                st,
                Event(identity, "IBM-101", module, "visit", at, self._id(), country=site_country),
            )
            self.s.events.append(
                Event(
                    identity,
                    "IBM-101",
                    "moodle-course",
                    "visit",
                    at,
                    st["id"],
                    country=site_country,
                )
            )
            if rng.random() > 0.85:
                continue
            attempts = [round(rng.uniform(0.35, 1.0), 2)] if module == "final-quiz" else [None]
            if (
                module == "final-quiz"
                and attempts[0] is not None
                and attempts[0] < 0.7
                and rng.random() < 0.6
            ):
                attempts.append(round(rng.uniform(0.7, 1.0), 2))  # a second attempt passes
            for score in attempts:
                at += timedelta(hours=1)
                # Moodle's pass grade (0.6) is below the catalogue's minimum score (0.7).
                result = (
                    None
                    if score is None
                    else {
                        "score": {"scaled": score, "raw": score * 20, "min": 0, "max": 20},
                        "success": score >= 0.6,
                        "completion": True,
                    }
                )
                kind = "done" if score is None else ("pass" if score >= 0.6 else "fail")
                identity, st = self._moodle(
                    site, person, email, iri, course_iri, ADL + "completed", at, result
                )
                event = Event(
                    identity,
                    "IBM-101",
                    module,
                    kind,
                    at,
                    self._id(),
                    score=score,
                    country=site_country,
                )
                self._send(st, event)
                self.s.events.append(
                    Event(
                        identity,
                        "IBM-101",
                        "moodle-course",
                        "visit",
                        at,
                        st["id"],
                        country=site_country,
                    )
                )
        if mover and reached > 2:
            self.s.movers.append((f"{CAMPUS}#{1000 + person}", f"mbox:{email}"))
        kinds = {
            e.unit: e.kind
            for e in self.s.events
            if e.course == "IBM-101"
            and e.at >= start
            and e.identity in (f"mbox:{email}", f"{home}#{1000 + person}")
        }
        if all(kinds.get(m) in ("done", "pass") for m in IBM_MODULES):  # Moodle's course completion
            course_iri = f"{home}/course/view.php?id={IBM_SITES[home][0]}"
            at += timedelta(minutes=5)
            identity, st = self._moodle(
                home, person, email, course_iri, course_iri, ADL + "completed", at
            )
            self._send(
                st,
                Event(
                    identity,
                    "IBM-101",
                    "moodle-course",
                    "done",
                    at,
                    self._id(),
                    country={SN_SITE: "SN", KE_SITE: "KE"}.get(home),
                ),
            )

    # --- cmi5 package ---------------------------------------------------------------------

    def hbm(self, person: int, start: datetime) -> None:
        rng = self.rng
        agent = {
            "name": f"Official {person}",
            "account": {"homePage": CMI5_LMS, "name": f"lms-{person}"},
        }
        identity = self._identity(f"{CMI5_LMS}#lms-{person}", agent)
        registration = self._id()
        reached = rng.choice([1, 2, 3, 4, 4, 4])
        at = start
        finished = 0
        passed_final = False
        for au in HBM_AUS[:reached]:
            iri = f"{BASE}/packages/hbm-120/au/{au}"
            for verb in ("launched", "initialized"):
                at += timedelta(minutes=5)
                self._cmi5(
                    agent, registration, iri, ADL + verb, at, identity, "HBM-120", au, "visit"
                )
            at += timedelta(minutes=40)
            if au == "final-assessment":
                score = round(rng.uniform(0.5, 1.0), 2)
                passed_final = score >= 0.8
                verb, kind = (ADL + "passed", "pass") if passed_final else (ADL + "failed", "fail")
                self._cmi5(
                    agent,
                    registration,
                    iri,
                    verb,
                    at,
                    identity,
                    "HBM-120",
                    au,
                    kind,
                    {"score": {"scaled": score}, "success": passed_final},
                    score,
                )
            elif rng.random() < 0.9:
                self._cmi5(
                    agent,
                    registration,
                    iri,
                    ADL + "completed",
                    at,
                    identity,
                    "HBM-120",
                    au,
                    "done",
                    {"completion": True},
                )
                finished += 1
            at += timedelta(minutes=1)
            self._cmi5(
                agent, registration, iri, ADL + "terminated", at, identity, "HBM-120", au, "visit"
            )
        if finished == 3 and passed_final:  # the LMS: every AU's moveOn is met
            at += timedelta(seconds=1)
            self._cmi5(
                agent,
                registration,
                f"{BASE}/packages/hbm-120",
                W3ID + "satisfied",
                at,
                identity,
                "HBM-120",
                "package",
                "satisfied",
            )

    def _cmi5(
        self,
        agent: dict[str, Any],
        registration: str,
        iri: str,
        verb: str,
        at: datetime,
        identity: str,
        course: str,
        unit: str,
        kind: str,
        result: dict[str, Any] | None = None,
        score: float | None = None,
    ) -> None:
        statement: dict[str, Any] = {
            "actor": agent,
            "verb": {"id": verb},
            "object": {"id": iri},
            "timestamp": _iso(at),
            "context": {
                "registration": registration,
                "contextActivities": {
                    "category": [{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}]
                },
            },
        }
        if result:
            statement["result"] = result
        self._send(statement, Event(identity, course, unit, kind, at, self._id(), score=score))

    # --- pre-reading on Moodle and a face-to-face workshop ----------------------------------

    def cpba(self, person: int, email: str, country: str, start: datetime) -> None:
        rng = self.rng
        site = {"NE": NE_SITE, "SN": SN_SITE}.get(country, CAMPUS)
        iri = f"{site}/mod/book/view.php?id={CPBA_READING[site]}"
        course_iri = f"{site}/course/view.php?id=30"
        site_country = {NE_SITE: "NE", SN_SITE: "SN"}.get(site)
        identity, st = self._moodle(site, person, email, iri, course_iri, ADL + "completed", start)
        self._send(
            st,
            Event(
                identity, "CPBA-110", "pre-reading", "done", start, self._id(), country=site_country
            ),
        )
        if rng.random() < 0.2:
            return  # never came to the workshop
        session_iri, cohort, session_country, first_day = CPBA_SESSIONS[
            "NE" if country == "NE" else "other"
        ]
        if country == "NE":  # Niger's sheets name officials by their Moodle account
            sheet, agent = self._moodle_actor(NE_SITE, person, email)
            self.s.emails[sheet] = email
        else:
            agent = {
                "name": f"Official {person}",
                "account": {"homePage": SHEETS, "name": f"P-{person:04d}"},
            }
            sheet = self._identity(f"{SHEETS}#P-{person:04d}", agent, email)
        if rng.random() < 0.4:  # the whole workshop on one line of the sheet
            plan = [(0, rng.choice([3, 5]))]
        else:  # one line a day; a day is sometimes imported twice
            days = rng.randrange(1, 6)
            plan = [(d, 1) for d in range(days)] + ([(0, 1)] if rng.random() < 0.3 else [])
        for offset, days in plan:
            at = datetime.combine(
                first_day + timedelta(days=offset), datetime.min.time(), UTC
            ) + timedelta(hours=9)
            statement = {
                "actor": agent,
                "verb": {"id": ADL + "attended", "display": {"fr": "a participé"}},
                "object": {
                    "id": session_iri,
                    "definition": {"type": "http://adlnet.gov/expapi/activities/meeting"},
                },
                "result": {"extensions": {EXT + "attendance-days": days}},
                "context": {"extensions": {EXT + "email": email}},
                "timestamp": _iso(at),
            }
            self._send(
                statement,
                Event(
                    sheet,
                    "CPBA-110",
                    "workshop",
                    "attend",
                    at,
                    self._id(),
                    days=days,
                    country=session_country,
                    cohort=cohort,
                ),
            )

    def noise(self, person: int, email: str, start: datetime) -> None:
        """Activity the catalogue does not know: a forum in another course."""
        _, st = self._moodle(
            CAMPUS,
            person,
            email,
            f"{CAMPUS}/mod/forum/view.php?id=9001",
            f"{CAMPUS}/course/view.php?id=90",
            "http://id.tincanapi.com/verb/viewed",
            start,
        )
        self._send(st, None)

    def void_some(self, share: float) -> None:
        """A registrar voids some quiz results and some attendance lines."""
        for event in self.s.events:
            if event.kind in ("pass", "fail", "attend") and self.rng.random() < share:
                event.voided = True
                self.s.voids.append(
                    {
                        "id": self._id(),
                        "actor": {"name": "Registrar", "mbox": "mailto:registrar@acbc.example.org"},
                        "verb": {"id": ADL + "voided", "display": {"en": "voided"}},
                        "object": {"objectType": "StatementRef", "id": event.statement_id},
                    }
                )
        voided = {e.statement_id for e in self.s.events if e.voided}
        for event in self.s.events:  # the context part of a voided statement goes with it
            if event.statement_id in voided:
                event.voided = True


def build(people: int, seed: int = 2026) -> Scenario:
    builder = Builder(seed)
    rng = builder.rng
    for person in range(people):
        email = f"official{person}@border.example.org"
        country = rng.choice(["SN", "SN", "KE", "NE", "TZ", "CI"])
        start = datetime(2026, 1, 5, 8, tzinfo=UTC) + timedelta(days=rng.randrange(200))
        if rng.random() < 0.75:
            builder.ibm(person, email, country, start)
        if rng.random() < 0.5:
            builder.hbm(person, start + timedelta(days=3))
        if rng.random() < 0.5:
            builder.cpba(person, email, country, start - timedelta(days=10))
        if rng.random() < 0.3:
            builder.noise(person, email, start)
    builder.void_some(0.12)
    return builder.s


async def post_statements(
    xapi: httpx.AsyncClient, statements: list[dict[str, Any]], batch: int = 50
) -> None:
    for start in range(0, len(statements), batch):
        response = await xapi.post("/xapi/statements", json=statements[start : start + batch])
        assert response.status_code == 200, response.text
