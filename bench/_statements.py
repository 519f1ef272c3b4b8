"""Realistic generated statements for the benchmarks: Moodle-shaped, spread over many learners."""

from __future__ import annotations

import random
import uuid
from typing import Any

SITES = [f"https://moodle{n}.acbc.iom.int" for n in range(1, 6)]
VERBS = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://id.tincanapi.com/verb/viewed",
    "http://adlnet.gov/expapi/verbs/passed",
]
COURSES = [f"ibm-{n:03d}" for n in range(1, 9)]


def moodle_statement(rng: random.Random, learners: int = 100_000) -> dict[str, Any]:
    site = rng.choice(SITES)
    course = rng.choice(COURSES)
    module = rng.randrange(1, 20)
    course_iri = f"{site}/course/view.php?id={course}"
    return {
        "actor": {
            "objectType": "Agent",
            "name": f"Official {rng.randrange(learners)}",
            "account": {"homePage": site, "name": str(rng.randrange(learners))},
        },
        "verb": {"id": rng.choice(VERBS), "display": {"en": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": f"{site}/mod/page/view.php?id={module}",
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/module",
                "name": {"en": f"Module {module}", "fr": f"Module {module}"},
            },
        },
        "context": {
            "registration": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "platform": "Moodle",
            "language": "fr",
            "contextActivities": {
                "grouping": [
                    {
                        "objectType": "Activity",
                        "id": site,
                        "definition": {"type": "http://id.tincanapi.com/activitytype/lms"},
                    },
                    {
                        "objectType": "Activity",
                        "id": course_iri,
                        "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course"},
                    },
                ],
                "category": [
                    {
                        "objectType": "Activity",
                        "id": "http://moodle.org",
                        "definition": {"type": "http://id.tincanapi.com/activitytype/source"},
                    }
                ],
            },
            "extensions": {
                "http://lrs.learninglocker.net/define/extensions/info": {"event_name": "x"}
            },
        },
        "result": {"completion": True, "score": {"scaled": round(rng.random(), 2)}},
        "timestamp": "2026-11-20T10:00:00.000Z",
    }
