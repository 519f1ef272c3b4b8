"""Tests for xAPI statement validation: every user-visible rule, both API versions, odd input."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lrs.xapi.validate import (
    activity_id_errors,
    agent_errors,
    is_iri,
    is_uuid,
    parse_timestamp,
    statement_errors,
)

V1 = "1.0.3"
V2 = "2.0.0"
BOTH = pytest.mark.parametrize("version", [V1, V2])

DELETE = object()  # marker for `changed`: remove the property instead of replacing it


# --- Example statements ----------------------------------------------------------------


def moodle_statement() -> dict[str, Any]:
    """What Moodle's logstore_xapi plugin sends (account actor, course context)."""
    return {
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": {
            "objectType": "Agent",
            "name": "Jane Doe",
            "account": {"homePage": "https://moodle.example.org", "name": "1234"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": "https://moodle.example.org/mod/quiz/view.php?id=42",
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/module",
                "name": {"en": "Week 3 quiz"},
                "extensions": {"https://w3id.org/learning-analytics/lms/external-id": "42"},
            },
        },
        "result": {
            "score": {"raw": 8, "min": 0, "max": 10, "scaled": 0.8},
            "completion": True,
            "success": True,
            "duration": "PT12M30S",
        },
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "platform": "Moodle",
            "language": "en",
            "instructor": {"mbox": "mailto:teacher@example.org"},
            "extensions": {"http://lrs.learninglocker.net/define/extensions/info": {"a": 1}},
            "contextActivities": {
                "grouping": [
                    {
                        "id": "https://moodle.example.org/course/view.php?id=7",
                        "objectType": "Activity",
                        "definition": {
                            "type": "http://id.tincanapi.com/activitytype/lms/course",
                            "name": {"en": "Biology 101"},
                        },
                    }
                ],
                "category": [{"id": "http://moodle.org", "objectType": "Activity"}],
            },
        },
        "timestamp": "2024-03-05T10:15:30+00:00",
    }


def minimal_statement() -> dict[str, Any]:
    """The spec's simplest statement (Data 2.4 example)."""
    return {
        "actor": {"mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/created", "display": {"en-US": "created"}},
        "object": {"id": "http://example.adlnet.gov/xapi/example/activity"},
    }


def with_object(obj: dict[str, Any]) -> dict[str, Any]:
    statement = minimal_statement()
    statement["object"] = obj
    return statement


SPEC_LONG_EXAMPLE: dict[str, Any] = {  # Data Appendix A, with the LRS-set properties
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {
        "name": "Team PB",
        "mbox": "mailto:teampb@example.com",
        "member": [
            {
                "name": "Andrew Downes",
                "account": {"homePage": "http://www.example.com", "name": "13936749"},
                "objectType": "Agent",
            },
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/"},
            {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        ],
        "objectType": "Group",
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/attended",
        "display": {"en-GB": "attended", "en-US": "attended"},
    },
    "result": {
        "extensions": {
            "http://example.com/profiles/meetings/resultextensions/minuteslocation": "X:"
        },
        "success": True,
        "completion": True,
        "response": "We agreed on some example actions.",
        "duration": "PT1H0M0S",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [
                {"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}
            ],
            "other": [{"id": "http://www.example.com/meetings/occurances/34257"}],
        },
        "instructor": {
            "name": "Andrew Downes",
            "account": {"homePage": "http://www.example.com", "name": "13936749"},
            "objectType": "Agent",
        },
        "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
        "platform": "Example virtual meeting software",
        "language": "tlh",
        "statement": {"objectType": "StatementRef", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
    },
    "timestamp": "2013-05-18T05:32:34.804+00:00",
    "stored": "2013-05-18T05:32:34.804+00:00",
    "authority": {
        "account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"},
        "objectType": "Agent",
    },
    "version": "1.0.0",
    "object": {
        "id": "http://www.example.com/meetings/occurances/34534",
        "definition": {
            "extensions": {"http://example.com/profiles/meetings/room": {"name": "Kilby"}},
            "name": {"en-GB": "example meeting", "en-US": "example meeting"},
            "description": {"en-US": "An example meeting."},
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "moreInfo": "http://virtualmeeting.example.com/345256",
        },
        "objectType": "Activity",
    },
}

VOIDING: dict[str, Any] = {
    "actor": {"objectType": "Agent", "mbox": "mailto:admin@example.adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
    "object": {"objectType": "StatementRef", "id": "e05aa883-acaf-40ad-bf54-02c8ce485fb0"},
}

SUB_STATEMENT: dict[str, Any] = {
    "objectType": "SubStatement",
    "actor": {"objectType": "Agent", "mbox": "mailto:test@example.com"},
    "verb": {"id": "http://example.com/visited", "display": {"en-US": "will visit"}},
    "object": {"objectType": "Activity", "id": "http://example.com/website"},
    "timestamp": "2099-01-01T00:00:00Z",  # a SubStatement MAY be in the future
}


def interaction(kind: str, **lists: Any) -> dict[str, Any]:
    """An Activity with an interaction definition (Data Appendix C)."""
    return {
        "id": f"http://example.com/questions/{kind}",
        "definition": {
            "description": {"en-US": "A question"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": kind,
            "correctResponsesPattern": ["a[,]b"],
            **lists,
        },
    }


def components(*ids: str) -> list[dict[str, Any]]:
    return [{"id": id_, "description": {"en-US": f"Item {id_}"}} for id_ in ids]


ATTACHMENT: dict[str, Any] = {
    "usageType": "http://adlnet.gov/expapi/attachments/signature",
    "display": {"en-US": "Signature"},
    "description": {"en-US": "A test attachment"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a",
    "fileUrl": "http://over.there.com/file.txt",
}

OAUTH_AUTHORITY: dict[str, Any] = {
    "objectType": "Group",
    "member": [
        {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_x75db"}},
        {"mbox": "mailto:bob@example.com"},
    ],
}

CONTEXT_AGENT: dict[str, Any] = {
    "objectType": "contextAgent",
    "agent": {"objectType": "Agent", "mbox": "mailto:player-1@example.com"},
    "relevantTypes": ["https://example.com/xapi/activity-types/position/quarterback"],
}

CONTEXT_GROUP: dict[str, Any] = {
    "objectType": "contextGroup",
    "group": {
        "objectType": "Group",
        "mbox": "mailto:team-1@example.com",
        "member": [{"objectType": "Agent", "mbox": "mailto:player-1@example.com"}],
    },
    "relevantTypes": ["https://example.com/xapi/activity-types/team/a"],
}


Step = str | int  # a property name or a list index


def changed(statement: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `statement` with the value at `path` (e.g. "a.b[0].c") replaced.

    Passing DELETE removes the property instead.
    """
    steps = [int(s[1:-1]) if s.startswith("[") else s for s in re.findall(r"\[\d+\]|[^.\[]+", path)]
    return replaced(statement, steps, value)


def replaced(statement: dict[str, Any], steps: Sequence[Step], value: Any) -> dict[str, Any]:
    """Like `changed`, with the path given as steps (keys may contain dots)."""
    result = copy.deepcopy(statement)
    node: Any = result
    for step in steps[:-1]:
        node = node[step]
    if value is DELETE:
        del node[steps[-1]]
    else:
        node[steps[-1]] = copy.deepcopy(value)
    return result


# --- Valid statements are accepted ---------------------------------------------------------


VALID_STATEMENTS = [
    pytest.param(moodle_statement(), id="moodle"),
    pytest.param(minimal_statement(), id="minimal-spec-example"),
    pytest.param(SPEC_LONG_EXAMPLE, id="spec-appendix-a-long-example"),
    pytest.param(VOIDING, id="voiding"),
    pytest.param(with_object(SUB_STATEMENT), id="substatement"),
    pytest.param(
        changed(
            with_object(SUB_STATEMENT),
            "object.object",
            {"objectType": "StatementRef", "id": VOIDING["object"]["id"]},
        ),
        id="substatement-with-statementref",
    ),
    pytest.param(
        with_object({"objectType": "Agent", "name": "Andrew", "mbox": "mailto:a@example.co.uk"}),
        id="object-agent",
    ),
    pytest.param(
        with_object({"objectType": "Group", "member": [{"openid": "http://aaron.example.org"}]}),
        id="object-anonymous-group",
    ),
    pytest.param(changed(minimal_statement(), "authority", OAUTH_AUTHORITY), id="oauth-authority"),
    pytest.param(changed(minimal_statement(), "attachments", [ATTACHMENT]), id="attachments"),
    pytest.param(
        changed(
            minimal_statement(),
            "object",
            {
                "id": "http://example.com/a",
                "definition": {
                    "extensions": {
                        "http://example.com/null": None,
                        "http://example.com/empty": "",
                        "http://example.com/obj": {},
                        "http://example.com/deep": [[{"x": [None]}]],
                    }
                },
            },
        ),
        id="extension-values-are-never-checked",
    ),
    pytest.param(
        changed(
            moodle_statement(), "context.contextActivities", {"parent": {"id": "http://a.b/c"}}
        ),
        id="single-context-activity-object",
    ),
    pytest.param(
        changed(moodle_statement(), "context.contextActivities.other", []), id="empty-list"
    ),
    pytest.param(changed(moodle_statement(), "timestamp", "20240305T101530.5+0100"), id="basic-ts"),
    pytest.param(
        changed(moodle_statement(), "timestamp", "2024-03-05T10:15:30.123456789-05:00"), id="ns-ts"
    ),
    pytest.param(changed(moodle_statement(), "result.duration", "P1DT12H36M0.12567S"), id="dur"),
    pytest.param(changed(moodle_statement(), "result.duration", "P4W"), id="duration-weeks"),
    pytest.param(changed(moodle_statement(), "version", "1.0"), id="version-1.0"),
    pytest.param(changed(moodle_statement(), "version", "1.0.9"), id="version-1.0.9"),
    pytest.param(
        changed(moodle_statement(), "object.id", "http://example.com/path/../slug"),
        id="dot-segments",
    ),
    pytest.param(changed(moodle_statement(), "verb.id", "urn:x-verb:completed"), id="urn-verb"),
    pytest.param(
        changed(
            moodle_statement(),
            "verb.display",
            {"zh-Hant-TW": "完成", "sgn-BE-FR": "x", "x-private": "y", "de-CH-1901": "z"},
        ),
        id="rfc5646-tags",
    ),
    pytest.param(
        changed(moodle_statement(), "result.score", {"scaled": -1, "raw": -5.5, "min": -10}),
        id="negative-scores",
    ),
    pytest.param(
        changed(
            moodle_statement(), "actor", {"objectType": "Group", "mbox": "mailto:g@example.com"}
        ),
        id="identified-group-without-members",
    ),
    pytest.param(
        with_object(interaction("choice", choices=components("a", "b", "c"))), id="choice"
    ),
    pytest.param(with_object(interaction("sequencing", choices=components("a", "b"))), id="seq"),
    pytest.param(with_object(interaction("likert", scale=components("a", "b"))), id="likert"),
    pytest.param(
        with_object(interaction("matching", source=components("a"), target=components("b"))),
        id="matching",
    ),
    pytest.param(with_object(interaction("performance", steps=components("a", "b"))), id="perf"),
    pytest.param(with_object(interaction("true-false")), id="true-false"),
    pytest.param(with_object(interaction("fill-in")), id="fill-in"),
    pytest.param(with_object(interaction("long-fill-in")), id="long-fill-in"),
    pytest.param(with_object(interaction("numeric")), id="numeric"),
    pytest.param(with_object(interaction("other", correctResponsesPattern=[])), id="other"),
]


@BOTH
@pytest.mark.parametrize("statement", VALID_STATEMENTS)
def test_valid_statements_are_accepted(statement: dict[str, Any], version: str) -> None:
    assert statement_errors(statement, version) == []


def test_validation_does_not_modify_the_statement() -> None:
    statement = moodle_statement()
    statement_errors(statement, V1)
    assert statement == moodle_statement()


# --- Each class of invalid input is rejected with an error naming the path ----------------

M = moodle_statement()
S = with_object(SUB_STATEMENT)
BAD = "not an iri"

INVALID = [
    # Statement (Data 2.2, 2.4)
    ("actor", DELETE, "statement.actor: is required"),
    ("verb", DELETE, "statement.verb: is required"),
    ("object", DELETE, "statement.object: is required"),
    ("foo", 1, "statement: unexpected property 'foo'"),
    ("Version", "1.0.0", "statement: unexpected property 'Version'"),
    ("id", "not-a-uuid", "statement.id: must be a UUID"),
    ("id", "AA97B177-9383-4934-8543-0F91A7A028368", "statement.id: must be a UUID"),
    ("id", "MA97B177-9383-4934-8543-0F91A7A02836", "statement.id: must be a UUID"),
    ("id", None, "statement.id: must not be null"),
    ("id", 12345, "statement.id: must be a UUID string"),
    ("result", None, "statement.result: must not be null"),
    ("timestamp", "01/011/2015", "statement.timestamp: must be an ISO 8601 timestamp"),
    ("timestamp", "2008-09-15T15:53:00.601-00:00", "statement.timestamp: must be an ISO 8601"),
    ("timestamp", "2008-09-15T15:53:00.601-0000", "statement.timestamp: must be an ISO 8601"),
    ("timestamp", "2008-09-15T15:53:00.601-00", "statement.timestamp: must be an ISO 8601"),
    ("timestamp", "2023-02-29T00:00:00Z", "statement.timestamp: must be an ISO 8601"),
    ("timestamp", "2024-03-05 10:15:30Z", "statement.timestamp: must be an ISO 8601"),
    ("stored", "yesterday", "statement.stored: must be an ISO 8601 timestamp"),
    ("version", "1.1.0", "statement.version: must be a supported xAPI version"),
    ("version", "0.9.9", "statement.version: must be a supported xAPI version"),
    ("version", 1.0, "statement.version: must be a version string"),
    # Actor, Agent, Group, IFIs, Account (Data 2.4.2)
    ("actor.objectType", "agent", "statement.actor.objectType: must be 'Agent' or 'Group'"),
    ("actor.objectType", None, "statement.actor.objectType: must be 'Agent' or 'Group'"),
    ("actor", {"name": "Nobody"}, "statement.actor: must have exactly one inverse functional"),
    ("actor.mbox", "mailto:a@example.com", "statement.actor: must not have more than one"),
    ("actor", {"mbox": "xapi@adlnet.gov"}, "statement.actor.mbox: must be a 'mailto:' IRI"),
    ("actor", {"mbox": "mailto:should.fail.com"}, "statement.actor.mbox: must be a 'mailto:'"),
    ("actor", {"mbox_sha1sum": "abc"}, "statement.actor.mbox_sha1sum: must be a hex-encoded SHA1"),
    ("actor", {"mbox_sha1sum": {"k": "v"}}, "statement.actor.mbox_sha1sum: must be a string"),
    ("actor", {"openid": "open.id.com/user"}, "statement.actor.openid: must be an IRI"),
    ("actor", {"openid": "ab=c://should.fail.com"}, "statement.actor.openid: must be an IRI"),
    ("actor.account.homePage", DELETE, "statement.actor.account.homePage: is required"),
    ("actor.account.name", DELETE, "statement.actor.account.name: is required"),
    (
        "actor.account.homePage",
        "homePage.com/u",
        "statement.actor.account.homePage: must be an IRL",
    ),
    ("actor.account.id", "1", "statement.actor.account: unexpected property 'id'"),
    ("actor.name", 42, "statement.actor.name: must be a string"),
    ("actor.member", [], "statement.actor: unexpected property 'member'"),
    (
        "actor",
        {"objectType": "Group", "name": "Anonymous"},
        "statement.actor.member: is required for an anonymous Group",
    ),
    (
        "actor",
        {"objectType": "Group", "member": []},
        "statement.actor.member: an anonymous Group must list at least one Agent",
    ),
    (
        "actor",
        {"objectType": "Group", "mbox": "mailto:g@x.org", "member": {"mbox": "mailto:a@x.org"}},
        "statement.actor.member: must be an array of Agents",
    ),
    (
        "actor",
        {"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@x.org"}]},
        "statement.actor.member[0]: must be an Agent (a Group cannot contain Groups)",
    ),
    (
        "actor",
        {"objectType": "Group", "member": [{"name": "no ifi"}]},
        "statement.actor.member[0]: must have exactly one inverse functional identifier",
    ),
    (
        "actor",
        {"objectType": "Group", "mbox": "mailto:g@x.org", "openid": "http://g.example.org"},
        "statement.actor: must not have more than one inverse functional identifier",
    ),
    # Verb (Data 2.4.3)
    ("verb.id", DELETE, "statement.verb.id: is required"),
    ("verb.id", "adlnet.gov/expapi/verbs/completed", "statement.verb.id: must be an IRI"),
    ("verb.id", "", "statement.verb.id: must be an IRI"),
    ("verb.display", "completed", "statement.verb.display: must be an object"),
    ("verb.display", {"a12345": "x"}, "statement.verb.display: 'a12345' is not an RFC 5646"),
    ("verb.display", {"": "x"}, "statement.verb.display: '' is not an RFC 5646"),
    ("verb.display.en", 5, "statement.verb.display.en: must be a string"),
    ("verb.display.en", None, "statement.verb.display.en: must not be null"),
    ("verb.name", "x", "statement.verb: unexpected property 'name'"),
    # Activity (Data 2.4.4.1)
    ("object.objectType", "activity", "statement.object.objectType: must be one of Activity"),
    ("object.id", DELETE, "statement.object.id: is required"),
    ("object.id", "example.com/activity", "statement.object.id: must be an IRI"),
    ("object.definition", "quiz", "statement.object.definition: must be an object"),
    ("object.definition.name", {"en_US": "x"}, "statement.object.definition.name: 'en_US' is"),
    ("object.definition.type", "id.tincanapi.com/x", "statement.object.definition.type: must be"),
    ("object.definition.moreInfo", "www.x.org", "statement.object.definition.moreInfo: must be"),
    ("object.definition.title", "x", "statement.object.definition: unexpected property 'title'"),
    (
        "object.definition.extensions",
        {"not.valid.com/extension": 1},
        "statement.object.definition.extensions: key 'not.valid.com/extension' must be an IRI",
    ),
    ("object.definition.extensions", [], "statement.object.definition.extensions: must be an"),
    ("object.definition.interactionType", "Choice", "interactionType: must be one of choice"),
    ("object.definition.interactionType", 3, "interactionType: must be a string"),
    (
        "object.definition.correctResponsesPattern",
        ["a"],
        "statement.object.definition.correctResponsesPattern: requires 'interactionType'",
    ),
    ("object.definition.choices", [], "statement.object.definition.choices: requires"),
    ("object.definition.steps", [], "statement.object.definition.steps: requires"),
    ("object.extensions", {}, "statement.object: unexpected property 'extensions'"),
    # Agent/Group objects must say so (Data 2.4.4.2)
    ("object", {"mbox": "mailto:a@x.org"}, "statement.object: unexpected property 'mbox'"),
    ("object", {"objectType": "Agent"}, "statement.object: must have exactly one inverse"),
    ("object", {"objectType": "Group"}, "statement.object.member: is required"),
    # StatementRef (Data 2.4.4.3)
    ("object", {"objectType": "StatementRef"}, "statement.object.id: is required"),
    ("object", {"objectType": "StatementRef", "id": "x"}, "statement.object.id: must be a UUID"),
    ("object", {"objectType": "Statement", "id": "x"}, "statement.object.objectType: must be"),
    # Result and Score (Data 2.4.5)
    ("result.score.scaled", 1.5, "statement.result.score.scaled: must be between -1 and 1"),
    ("result.score.scaled", -1.01, "statement.result.score.scaled: must be between -1 and 1"),
    ("result.score.raw", 11, "statement.result.score.raw: must not be greater than max"),
    ("result.score.raw", -1, "statement.result.score.raw: must not be less than min"),
    ("result.score.min", 10, "statement.result.score.min: must be less than max"),
    ("result.score.raw", "8", "statement.result.score.raw: must be a number"),
    ("result.score.raw", True, "statement.result.score.raw: must be a number"),
    ("result.score.raw", float("nan"), "statement.result.score.raw: must be a number"),
    ("result.score.percent", 80, "statement.result.score: unexpected property 'percent'"),
    ("result.success", "true", "statement.result.success: must be a boolean"),
    ("result.completion", 1, "statement.result.completion: must be a boolean"),
    ("result.response", 42, "statement.result.response: must be a string"),
    ("result.duration", "PT", "statement.result.duration: must be an ISO 8601 duration"),
    ("result.duration", "P4W1D", "statement.result.duration: must be an ISO 8601 duration"),
    ("result.duration", "PA1H0M0S", "statement.result.duration: must be an ISO 8601 duration"),
    ("result.duration", 12345, "statement.result.duration: must be an ISO 8601 duration string"),
    ("result.extensions", {"wrong": 1}, "statement.result.extensions: key 'wrong' must be an IRI"),
    # Context (Data 2.4.6)
    ("context.registration", "x", "statement.context.registration: must be a UUID"),
    ("context.instructor.foo", 1, "statement.context.instructor: unexpected property 'foo'"),
    (
        "context.team",
        {"mbox": "mailto:team@example.com"},
        "statement.context.team.objectType: must be 'Group' (a team is a Group)",
    ),
    ("context.team", {"objectType": "Group"}, "statement.context.team.member: is required"),
    (
        "context.contextActivities.parents",
        [],
        "statement.context.contextActivities: unexpected property 'parents'",
    ),
    (
        "context.contextActivities.grouping",
        "http://example.com/course",
        "statement.context.contextActivities.grouping: must be an Activity or an array",
    ),
    (
        "context.contextActivities.grouping[0].id",
        DELETE,
        "statement.context.contextActivities.grouping[0].id: is required",
    ),
    (
        "context.contextActivities.category[0].objectType",
        "Agent",
        "statement.context.contextActivities.category[0].objectType: must be 'Activity'",
    ),
    ("context.language", "not a tag", "statement.context.language: must be an RFC 5646"),
    ("context.revision", 3, "statement.context.revision: must be a string"),
    (
        "context.statement",
        {"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "statement.context.statement.objectType: is required",
    ),
    (
        "context.statement",
        {"objectType": "Activity", "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"},
        "statement.context.statement.objectType: must be 'StatementRef'",
    ),
    ("context.extensions", {"example.com/x": 1}, "statement.context.extensions: key"),
    # Authority (Data 2.4.9)
    (
        "authority",
        {**OAUTH_AUTHORITY, "mbox": "mailto:group@example.com"},
        "statement.authority: a Group authority must be an anonymous Group",
    ),
    (
        "authority",
        {"objectType": "Group", "member": [{"mbox": "mailto:a@x.org"}]},
        "statement.authority.member: a Group authority must have exactly two Agents",
    ),
    ("authority", {"objectType": "Agent"}, "statement.authority: must have exactly one inverse"),
    # Attachments (Data 2.4.11)
    ("attachments", ATTACHMENT, "statement.attachments: must be an array of Attachment objects"),
    ("attachments", [12345], "statement.attachments[0]: must be an object"),
    ("attachments", [{**ATTACHMENT, "usageType": BAD}], "statement.attachments[0].usageType: must"),
    ("attachments", [{**ATTACHMENT, "fileUrl": BAD}], "statement.attachments[0].fileUrl: must be"),
    ("attachments", [{**ATTACHMENT, "display": "x"}], "statement.attachments[0].display: must be"),
    ("attachments", [{**ATTACHMENT, "contentType": 1}], "attachments[0].contentType: must be an"),
    ("attachments", [{**ATTACHMENT, "contentType": "text"}], "attachments[0].contentType: must"),
    ("attachments", [{**ATTACHMENT, "length": "27"}], "attachments[0].length: must be an integer"),
    ("attachments", [{**ATTACHMENT, "length": 2.5}], "attachments[0].length: must be an integer"),
    ("attachments", [{**ATTACHMENT, "length": -1}], "attachments[0].length: must not be negative"),
    ("attachments", [{**ATTACHMENT, "sha2": 12345}], "statement.attachments[0].sha2: must be a"),
    ("attachments", [{**ATTACHMENT, "sha2": "xyz"}], "statement.attachments[0].sha2: must be a"),
    ("attachments", [{**ATTACHMENT, "size": 1}], "statement.attachments[0]: unexpected property"),
    ("attachments", [{"usageType": "http://x.org/u"}], "statement.attachments[0].display: is"),
    # Voiding (Data 2.3.2)
    (
        "verb.id",
        "http://adlnet.gov/expapi/verbs/voided",
        "statement.object: a voiding statement's object must be a StatementRef",
    ),
]


@BOTH
@pytest.mark.parametrize(("path", "value", "expected"), INVALID)
def test_invalid_statement_is_rejected_with_path_and_rule(
    path: str, value: Any, expected: str, version: str
) -> None:
    errors = statement_errors(changed(M, path, value), version)
    assert any(expected in error for error in errors), errors


# A Moodle statement whose object is an Agent, to check context rules tied to the object.
AGENT_OBJECT = changed(M, "object", {"objectType": "Agent", "mbox": "mailto:peer@example.org"})

SUB_STATEMENT_INVALID = [
    (S, "object.id", "6690e6c9-3ef0-4ed3-8b37-7f3964730bee", "must not be used in a SubStatement"),
    (S, "object.stored", "2024-01-01T00:00:00Z", "statement.object.stored: must not be used"),
    (S, "object.version", "1.0.0", "statement.object.version: must not be used in a SubStatement"),
    (S, "object.authority", OAUTH_AUTHORITY, "statement.object.authority: must not be used"),
    (S, "object.object", SUB_STATEMENT, "statement.object.object.objectType: a SubStatement must"),
    (S, "object.actor", DELETE, "statement.object.actor: is required"),
    (S, "object.verb.id", "visited", "statement.object.verb.id: must be an IRI"),
    (S, "object.objectType", DELETE, "statement.object: unexpected property 'actor'"),
    (S, "object.context", {"platform": "x"}, ""),  # allowed: the SubStatement's object is one
    (AGENT_OBJECT, "context.platform", "Moodle", "statement.context.platform: only allowed"),
    (AGENT_OBJECT, "context.revision", "2", "statement.context.revision: only allowed when"),
    (
        changed(S, "object.object", {"objectType": "Agent", "mbox": "mailto:a@x.org"}),
        "object.context",
        {"revision": "1"},
        "statement.object.context.revision: only allowed when the object is an Activity",
    ),
]


@BOTH
@pytest.mark.parametrize(("base", "path", "value", "expected"), SUB_STATEMENT_INVALID)
def test_substatement_and_object_dependent_rules(
    base: dict[str, Any], path: str, value: Any, expected: str, version: str
) -> None:
    errors = statement_errors(changed(base, path, value), version)
    if expected:
        assert any(expected in error for error in errors), errors
    else:
        assert errors == []


INTERACTION_INVALID = [
    (
        interaction("choice", choices=[{"id": "a"}, {"id": "a"}]),
        "statement.object.definition.choices[1].id: 'a' is not distinct",
    ),
    (interaction("likert", scale=[{"description": {"en": "x"}}]), "scale[0].id: is required"),
    (interaction("likert", scale=[{"id": 1}]), "scale[0].id: must be a string"),
    (interaction("matching", source=[{"id": "a", "x": 1}]), "source[0]: unexpected property 'x'"),
    (interaction("matching", target="a,b"), "target: must be an array of interaction components"),
    (
        interaction("performance", steps=[{"id": "a", "description": {"en": 1}}]),
        "steps[0].description.en: must be a string",
    ),
    (interaction("numeric", correctResponsesPattern="1:5"), "correctResponsesPattern: must be an"),
    (interaction("numeric", correctResponsesPattern=[1]), "correctResponsesPattern[0]: must be a"),
]


@BOTH
@pytest.mark.parametrize(("activity", "expected"), INTERACTION_INVALID)
def test_invalid_interaction_definitions_are_rejected(
    activity: dict[str, Any], expected: str, version: str
) -> None:
    errors = statement_errors(with_object(activity), version)
    assert any(expected in error for error in errors), errors


def test_all_errors_are_reported_not_just_the_first() -> None:
    statement = changed(M, "actor.name", 1)
    statement = changed(statement, "verb.id", "completed")
    statement = changed(statement, "result.score.scaled", 2)
    statement = changed(statement, "context.instructor.foo", "bar")
    assert statement_errors(statement, V1) == [
        "statement.actor.name: must be a string",
        "statement.verb.id: must be an IRI with a scheme",
        "statement.result.score.scaled: must be between -1 and 1",
        "statement.context.instructor: unexpected property 'foo'",
    ]


def test_error_path_prefix_is_configurable() -> None:
    errors = statement_errors(changed(M, "id", "x"), V1, path="statements[3]")
    assert errors == ["statements[3].id: must be a UUID in standard string form"]


@BOTH
@pytest.mark.parametrize("value", [None, 1, "statement", [], True])
def test_a_statement_must_be_an_object(value: object, version: str) -> None:
    expected = "statement: must not be null" if value is None else "statement: must be an object"
    assert statement_errors(value, version) == [expected]


# --- Differences between xAPI 1.0.3 and 2.0.0 ------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "v1_ok", "v2_ok"),
    [
        pytest.param(changed(M, "version", "2.0.0"), False, True, id="version-2.0.0"),
        pytest.param(changed(M, "version", "1.0.3"), True, True, id="version-1.0.3"),
        pytest.param(changed(M, "version", "2.1.0"), False, False, id="version-2.1.0"),
        pytest.param(changed(M, "timestamp", "2024-03-05T10:15:30"), True, False, id="no-zone"),
        pytest.param(changed(M, "stored", "2024-03-05T10:15:30.1"), True, False, id="stored-zone"),
        pytest.param(
            changed(S, "object.timestamp", "2024-03-05T10:15:30"), True, False, id="sub-no-zone"
        ),
        pytest.param(
            changed(M, "context.contextAgents", [CONTEXT_AGENT]), False, True, id="contextAgents"
        ),
        pytest.param(
            changed(M, "context.contextGroups", [CONTEXT_GROUP]), False, True, id="contextGroups"
        ),
        pytest.param(
            changed(S, "object.context", {"contextAgents": [CONTEXT_AGENT]}), False, True, id="sub"
        ),
        pytest.param(
            changed(
                M,
                "context.contextAgents",
                [{"objectType": "contextAgent", "agent": {"mbox": "mailto:player-1@example.com"}}],
            ),
            False,
            True,
            id="relevantTypes-optional",
        ),
    ],
)
def test_version_specific_rules(statement: dict[str, Any], v1_ok: bool, v2_ok: bool) -> None:
    assert (statement_errors(statement, V1) == []) is v1_ok
    assert (statement_errors(statement, V2) == []) is v2_ok


def test_parts_seen_valid_before_are_still_checked_for_the_version_and_content() -> None:
    # Valid actors, verbs, objects and contexts are remembered (they repeat across batches).
    in_2_0 = changed(M, "context.contextAgents", [CONTEXT_AGENT])
    assert statement_errors(in_2_0, V2) == []
    assert statement_errors(in_2_0, V2) == []
    assert statement_errors(in_2_0, V1) != []  # the same context, another version
    other = changed(in_2_0, "context.contextAgents", [{**CONTEXT_AGENT, "objectType": "Agent"}])
    first = statement_errors(other, V2)
    assert first != [] and statement_errors(other, V2) == first  # an error, every time


def test_timestamp_without_zone_names_the_rule_in_2_0() -> None:
    errors = statement_errors(changed(M, "timestamp", "2024-03-05T10:15:30"), V2)
    assert errors == ["statement.timestamp: must include a time zone offset"]


def _without_deleted(value: Any) -> Any:
    """Drops DELETE markers so table rows can say "this property is absent"."""
    if isinstance(value, dict):
        return {k: _without_deleted(v) for k, v in value.items() if v is not DELETE}
    if isinstance(value, list):
        return [_without_deleted(v) for v in value]
    return value


CONTEXT_AGENTS_INVALID = [
    ("contextAgents", {"agent": CONTEXT_AGENT}, "contextAgents: must be an array"),
    ("contextAgents", [{**CONTEXT_AGENT, "objectType": "Should fail"}], "must be 'contextAgent'"),
    ("contextAgents", [{**CONTEXT_AGENT, "objectType": DELETE}], "[0].objectType: is required"),
    ("contextAgents", [{**CONTEXT_AGENT, "agent": DELETE}], "contextAgents[0].agent: is required"),
    ("contextAgents", [{**CONTEXT_AGENT, "agent": {"key": "x"}}], "agent: unexpected property"),
    ("contextAgents", [{**CONTEXT_AGENT, "agent": CONTEXT_GROUP["group"]}], "agent.objectType"),
    ("contextAgents", [{**CONTEXT_AGENT, "relevantTypes": []}], "relevantTypes: must not be empty"),
    ("contextAgents", [{**CONTEXT_AGENT, "relevantTypes": ["abc"]}], "relevantTypes[0]: must be"),
    ("contextAgents", [{**CONTEXT_AGENT, "relevantTypes": "http://x.org/t"}], "relevantTypes:"),
    ("contextAgents", [{**CONTEXT_AGENT, "role": "qb"}], "[0]: unexpected property 'role'"),
    ("contextGroups", [{**CONTEXT_GROUP, "objectType": "contextAgent"}], "must be 'contextGroup'"),
    ("contextGroups", [{**CONTEXT_GROUP, "group": {"mbox": "mailto:a@x.org"}}], "group.objectType"),
    ("contextGroups", [{**CONTEXT_GROUP, "group": {"objectType": "Group"}}], "group.member: is"),
    ("contextGroups", [{**CONTEXT_GROUP, "relevantTypes": []}], "relevantTypes: must not be empty"),
    ("contextGroups", [None], "contextGroups[0]: must not be null"),
]


@pytest.mark.parametrize(("key", "value", "expected"), CONTEXT_AGENTS_INVALID)
def test_invalid_context_agents_and_groups_are_rejected_in_2_0(
    key: str, value: Any, expected: str
) -> None:
    value = _without_deleted(value)
    in_statement = changed(M, f"context.{key}", value)
    in_sub_statement = changed(S, "object.context", {key: value})
    for statement in (in_statement, in_sub_statement):
        errors = statement_errors(statement, V2)
        assert any(expected in error for error in errors), errors


def test_context_agents_and_groups_are_unknown_in_1_0_3() -> None:
    statement = changed(M, "context.contextAgents", [CONTEXT_AGENT])
    statement = changed(statement, "context.contextGroups", [CONTEXT_GROUP])
    assert statement_errors(statement, V1) == [
        "statement.context: unexpected property 'contextAgents'",
        "statement.context: unexpected property 'contextGroups'",
    ]


# --- agent_errors, activity_id_errors and the predicates ------------------------------------


@BOTH
@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:learner@example.com"},
        {"objectType": "Agent", "account": {"homePage": "http://lms.example.com", "name": "7"}},
        {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        {"openid": "http://toby.openid.example.org/"},
        {"objectType": "Group", "mbox": "mailto:team@example.com"},
        {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]},
    ],
)
def test_agent_errors_accepts_agents_and_groups(agent: dict[str, Any], version: str) -> None:
    assert agent_errors(agent, version) == []


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("mailto:a@example.com", "agent: must be an object"),
        ({}, "agent: must have exactly one inverse functional identifier"),
        ({"mbox": "a@example.com"}, "agent.mbox: must be a 'mailto:' IRI"),
        ({"objectType": "Person", "mbox": "mailto:a@x.org"}, "agent.objectType: must be 'Agent'"),
        ({"mbox": "mailto:a@x.org", "age": 3}, "agent: unexpected property 'age'"),
        ({"objectType": "Group"}, "agent.member: is required for an anonymous Group"),
    ],
)
def test_agent_errors_rejects_invalid_agents(agent: object, expected: str) -> None:
    errors = agent_errors(agent, V1)
    assert any(error.startswith(expected) for error in errors), errors


def test_agent_errors_uses_the_given_path() -> None:
    assert agent_errors({}, V2, path="agent param")[0].startswith("agent param: ")


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("http://example.com/activities/1", []),
        ("urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee", []),
        ("not.a.valid.iri.com/activity", ["activityId: must be an IRI with a scheme"]),
        ("", ["activityId: must be an IRI with a scheme"]),
        (None, ["activityId: must not be null"]),
        (7, ["activityId: must be an IRI string"]),
    ],
)
def test_activity_id_errors(value: object, errors: list[str]) -> None:
    assert activity_id_errors(value) == errors


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fd41c918-b88b-4b20-a0a5-a4c32391aaa0", True),
        ("FD41C918-B88B-4B20-A0A5-A4C32391AAA0", True),
        ("fd41c918b88b4b20a0a5a4c32391aaa0", False),
        ("{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}", False),
        ("fd41c918-b88b-4b20-a0a5-a4c32391aaa0\n", False),
        ("wrong", False),
        ("", False),
        (None, False),
        (12345, False),
    ],
)
def test_is_uuid(value: object, expected: bool) -> None:
    assert is_uuid(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://adlnet.gov/expapi/verbs/completed", True),
        ("https://example.com/path?q=1#frag", True),
        ("http://example.com/فعل/خواندن", True),  # IRIs may hold non-ASCII characters
        ("mailto:someone@example.com", True),
        ("urn:isbn:0451450523", True),
        ("not.a.valid.iri.com/verb", False),
        ("ab=c://should.fail.com", False),
        ("http://example.com/with space", False),
        ("http://example.com/<tag>", False),
        ("http:", False),
        (":no-scheme", False),
        ("", False),
        (None, False),
        (["http://example.com"], False),
    ],
)
def test_is_iri(value: object, expected: bool) -> None:
    assert is_iri(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05T10:15:30Z", datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05T10:15:30.123Z", datetime(2024, 3, 5, 10, 15, 30, 123000, tzinfo=UTC)),
        ("2024-03-05T10:15:30.1234567+00:00", datetime(2024, 3, 5, 10, 15, 30, 123456, tzinfo=UTC)),
        (
            "2023-05-04T12:00:00-05:00",
            datetime(2023, 5, 4, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("2024-03-05T10:15:30+0530", datetime(2024, 3, 5, 4, 45, 30, tzinfo=UTC)),
        ("2024-03-05T10:15+01", datetime(2024, 3, 5, 9, 15, tzinfo=UTC)),
        ("20240305T101530Z", datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),
        ("2024-03-05T10:15:30", datetime(2024, 3, 5, 10, 15, 30, tzinfo=UTC)),  # read as UTC
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),  # leap second
    ],
)
def test_parse_timestamp_returns_aware_datetimes(value: str, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "should fail",
        "01/011/2015",
        "2024-03-05",
        "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-03-05T24:00:00Z",
        "2024-03-05T10:60:00Z",
        "2024-03-05T10:15:30-00:00",
        "2024-03-05T10:15:30-0000",
        "2024-03-05T10:15:30-00",
        "2024-03-05T10:15:30+25:00",
        "2024-03-05T10:15:30 +00:00",
        "0000-01-01T00:00:00Z",
        "٢٠٢٤-03-05T10:15:30Z",
        None,
        1709633730,
    ],
)
def test_parse_timestamp_rejects_invalid_values(value: Any) -> None:
    assert parse_timestamp(value) is None


# --- Never raise, whatever JSON arrives --------------------------------------------------------


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = {"objectType": "Agent", "member": [value], "k": level} if level % 2 else [value]
    return value


ODD_VALUES: list[Any] = [
    None,
    0,
    -1.5,
    float("inf"),
    True,
    "",
    "x",
    "http://example.com",
    [],
    [None],
    [[[]]],
    {},
    {"": None},
    {"objectType": None},
    {"objectType": ["Agent"]},
    {"objectType": {"a": 1}},
    {"id": {}, "objectType": "SubStatement"},
    _deep(60),
]


def _paths(value: Any, prefix: tuple[Step, ...] = ()) -> list[tuple[Step, ...]]:
    """The steps to every property and list item inside `value`."""
    if isinstance(value, dict):
        children: list[tuple[Step, Any]] = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return []
    found: list[tuple[Step, ...]] = []
    for step, child in children:
        path = (*prefix, step)
        found += [path, *_paths(child, path)]
    return found


FUZZ_BASES = [M, SPEC_LONG_EXAMPLE, S, changed(M, "context.contextAgents", [CONTEXT_AGENT])]


@BOTH
@pytest.mark.parametrize("odd", ODD_VALUES, ids=[f"odd{i}" for i in range(len(ODD_VALUES))])
def test_odd_values_at_every_level_never_raise(odd: Any, version: str) -> None:
    for base in FUZZ_BASES:
        for path in _paths(base):
            errors = statement_errors(replaced(base, path, odd), version)
            assert isinstance(errors, list)
            assert all(isinstance(error, str) for error in errors)
    candidates: list[Any] = [odd, {"actor": odd, "verb": odd, "object": odd, "context": odd}]
    for candidate in candidates:
        assert isinstance(statement_errors(candidate, version), list)
        assert isinstance(agent_errors(candidate, version), list)
        assert isinstance(activity_id_errors(candidate), list)
        is_iri(candidate)
        is_uuid(candidate)
        parse_timestamp(candidate)


# Property names seen in real statements, so random objects often reach deep checkers.
FUZZ_KEYS = sorted(
    {str(p[-1]) for p in _paths(M) + _paths(SPEC_LONG_EXAMPLE) if isinstance(p[-1], str)}
    | {"objectType", "member", "definition", "contextAgents", "agent", "group"}
)


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(8 if depth else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([0, 1, -1, 2.5, 1e308, True, False])
    if kind == 2:
        return rng.choice(["", "x", "Agent", "Group", "SubStatement", "StatementRef", "Activity"])
    if kind == 3:
        return rng.choice(["mailto:a@b.c", "http://x.org", "2024-01-01T00:00:00Z", "PT1S"])
    if kind == 4:
        return rng.choice(["fd41c918-b88b-4b20-a0a5-a4c32391aaa0", "en-US", "1.0.0"])
    if kind == 5:
        return [_random_json(rng, depth - 1) for _ in range(rng.randrange(3))]
    return {rng.choice(FUZZ_KEYS): _random_json(rng, depth - 1) for _ in range(rng.randrange(4))}


@BOTH
def test_random_json_trees_never_raise(version: str) -> None:
    rng = random.Random(20240305)
    for _ in range(400):
        base = copy.deepcopy(rng.choice(FUZZ_BASES))
        paths = _paths(base)
        statement = replaced(base, rng.choice(paths), _random_json(rng, 5))
        assert isinstance(statement_errors(statement, version), list)
        assert isinstance(statement_errors(_random_json(rng, 6), version), list)
