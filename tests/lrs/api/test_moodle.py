"""Batches exactly as Moodle's logstore_xapi plugin posts them (shared/spec/NOTES.md).

The plugin counts a batch as sent only on status 200; on a 400 it resends the batch in halves
(src/loader/utils/load_batch.php), and failed events are resent later, so a batch must be
stored whole or not at all. Its PHP json_encode escapes "/" as "\\/" and non-ASCII as \\uXXXX.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import httpx

URL = "/xapi/statements"
SITE = "https://moodle.acbc.iom.int"
PLUGIN = "https://github.com/xAPI-vle/moodle-logstore_xapi"
INFO = "http://lrs.learninglocker.net/define/extensions/info"
COURSE_TYPE = "http://id.tincanapi.com/activitytype/lms/course"
MODULE_TYPE = "http://id.tincanapi.com/activitytype/lms/module"
VIEWED = "http://id.tincanapi.com/verb/viewed"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
COURSES = {
    4: ("en", "Border Management Basics"),
    7: ("fr", "Gestion des frontières : notions de base"),
}


def _user(user_id: int) -> dict[str, Any]:
    return {"name": f"Learner {user_id}", "account": {"homePage": SITE, "name": str(user_id)}}


def _activity(url: str, kind: str, lang: str, name: str) -> dict[str, Any]:
    return {"id": url, "definition": {"type": kind, "name": {lang: name}}}


def _moodle_statement(event: int, user_id: int, course_id: int, session: str) -> dict[str, Any]:
    """A statement as the plugin sends it for a course or module view, or a completion."""
    lang, course_name = COURSES[course_id]
    course = _activity(f"{SITE}/course/view.php?id={course_id}", COURSE_TYPE, lang, course_name)
    module = _activity(
        f"{SITE}/mod/scorm/view.php?id={100 + event % 5}",
        MODULE_TYPE,
        lang,
        f"Module {event % 5 + 1}",
    )
    site = _activity(SITE, "http://id.tincanapi.com/activitytype/lms", "en", "ACBC Moodle")
    source = _activity(
        "http://moodle.org", "http://id.tincanapi.com/activitytype/source", "en", "Moodle"
    )
    kind = ("course_viewed", "course_module_viewed", "course_completed")[event % 3]
    verb_id, obj = {
        "course_viewed": (VIEWED, course),
        "course_module_viewed": (VIEWED, module),
        "course_completed": (COMPLETED, course),
    }[kind]
    return {
        "actor": _user(user_id),
        "verb": {"id": verb_id, "display": {lang: verb_id.rsplit("/", 1)[1]}},
        "object": obj,
        "timestamp": f"2024-06-03T14:{event // 60 % 60:02d}:{event % 60:02d}+01:00",
        "context": {
            "platform": "Moodle",
            "language": lang,
            "registration": session,
            "extensions": {
                INFO: {
                    "http://moodle.org": "4.1.2 (Build: 20230313)",
                    PLUGIN: "v4.7.0",
                    "event_name": f"\\core\\event\\{kind}",
                    "event_function": f"\\src\\transformer\\events\\core\\{kind}",
                }
            },
            "contextActivities": {"grouping": [site, course], "category": [source]},
        },
    }


def moodle_batch(size: int, first_event: int = 0) -> list[dict[str, Any]]:
    session = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{SITE}/session/{first_event}"))
    return [
        _moodle_statement(event, 10 + event % 7, (4, 7)[event % 2], session)
        for event in range(first_event, first_event + size)
    ]


def php_json_encode(statements: list[dict[str, Any]]) -> bytes:
    """json_encode() with PHP's default flags: escaped slashes and ASCII-only output."""
    return (
        json.dumps(statements, ensure_ascii=True, separators=(",", ":"))
        .replace("/", "\\/")
        .encode()
    )


async def send_like_moodle(
    client: httpx.AsyncClient, statements: list[dict[str, Any]], version: str
) -> int:
    response = await client.post(
        URL,
        content=php_json_encode(statements),
        headers={
            "X-Experience-API-Version": version,
            "Content-Type": "application/json",
        },
    )
    return response.status_code


async def load_batch(
    client: httpx.AsyncClient, statements: list[dict[str, Any]], version: str
) -> int:
    """The plugin's load_batch: on a 400, resend in halves till only bad events fail; count them."""
    status = await send_like_moodle(client, statements, version)
    if status == 200:
        return 0
    if len(statements) == 1 or status != 400:
        return len(statements)
    half = round(len(statements) / 2)
    return await load_batch(client, statements[:half], version) + await load_batch(
        client, statements[half:], version
    )


async def stored(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(URL, params={"limit": "0", "ascending": "true"})
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()["statements"]
    assert response.json()["more"] == ""
    return found


def _event_key(statement: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        statement["actor"]["account"]["name"],
        statement["verb"]["id"],
        statement["object"]["id"],
        statement["timestamp"],
    )


async def test_batches_of_30_get_exactly_200_and_read_back_as_sent(
    client: httpx.AsyncClient,
) -> None:
    sent: list[dict[str, Any]] = []
    for number, version in enumerate(("1.0.0", "1.0.3", "1.0.0", "1.0.3")):
        batch = moodle_batch(30, first_event=number * 30)
        assert await send_like_moodle(client, batch, version) == 200
        sent += batch
    back = await stored(client)
    assert len(back) == len(sent)
    for original, copy in zip(sent, back, strict=True):
        assert {key: copy[key] for key in original} == original
    learner = json.dumps({"account": {"homePage": SITE, "name": "10"}})
    by_learner = await client.get(URL, params={"agent": learner, "limit": "0"})
    assert len(by_learner.json()["statements"]) == sum(
        1 for s in sent if s["actor"]["account"]["name"] == "10"
    )
    course = f"{SITE}/course/view.php?id=7"
    in_course = await client.get(
        URL, params={"activity": course, "related_activities": "true", "limit": "0"}
    )
    assert len(in_course.json()["statements"]) == sum(
        1 for s in sent if s["context"]["language"] == "fr"
    )


async def test_a_rejected_batch_stores_nothing_and_its_resend_stores_each_event_once(
    client: httpx.AsyncClient,
) -> None:
    batch = moodle_batch(30)
    # With send_mbox on, the plugin sends objectType ["Agent"] (get_user.php): not valid xAPI.
    broken = [*batch]
    broken[12] = {
        **batch[12],
        "actor": {"objectType": ["Agent"], "mbox": "mailto:learner12@example.org"},
    }
    for version in ("1.0.0", "1.0.3"):
        assert await send_like_moodle(client, broken, version) == 400
    assert await stored(client) == []
    # The events fail and are resent later, once the site is fixed: stored once, in full.
    assert await send_like_moodle(client, batch, "1.0.3") == 200
    keys = Counter(_event_key(s) for s in await stored(client))
    assert sorted(keys) == sorted(_event_key(s) for s in batch)
    assert set(keys.values()) == {1}


async def test_halving_resend_stores_every_good_event_once(client: httpx.AsyncClient) -> None:
    batch = moodle_batch(30, first_event=200)
    batch[7] = {
        **batch[7],
        "actor": {"objectType": ["Agent"], "mbox": "mailto:learner7@example.org"},
    }
    batch[21] = {**batch[21], "timestamp": "03/06/2024 14:21"}
    failed = await load_batch(client, batch, "1.0.3")
    assert failed == 2
    keys = Counter(_event_key(s) for s in await stored(client))
    good = [s for n, s in enumerate(batch) if n not in (7, 21)]
    assert sorted(keys) == sorted(_event_key(s) for s in good)
    assert set(keys.values()) == {1}


async def test_a_backfill_batch_is_stored_whole(client: httpx.AsyncClient) -> None:
    batch = moodle_batch(400, first_event=1000)
    assert await send_like_moodle(client, batch, "1.0.0") == 200
    assert len(await stored(client)) == 400
