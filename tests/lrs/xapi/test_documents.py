"""Document resource rules: parameters, ETags, preconditions, merge, Person and Activity objects."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from lrs.errors import BadRequest, Conflict, PreconditionFailed
from lrs.xapi import documents
from lrs.xapi.documents import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    STATE,
    Preconditions,
    StoredContent,
)

ACTIVITY = "https://acbc.iom.int/courses/ibm-101"
AGENT = orjson.dumps({"objectType": "Agent", "mbox": "mailto:amina@example.org"}).decode()
REGISTRATION = "0B7E3F3A-1F2D-4C5E-9A8B-7C6D5E4F3A2B"


def state_params(**extra: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": AGENT, "stateId": "bookmark", **extra}


# --- parameters -------------------------------------------------------------------------------


def test_state_params_address_one_document() -> None:
    parsed = documents.parse_document_params(STATE, state_params(), "PUT", "1.0.3")
    assert parsed.doc_id == "bookmark"
    assert parsed.scope.activity_id == ACTIVITY
    assert parsed.scope.agent_key == "mbox:mailto:amina@example.org"
    assert parsed.scope.registration == ""  # the document stored without a registration


def test_registration_is_a_lowercased_uuid() -> None:
    parsed = documents.parse_document_params(
        STATE, state_params(registration=REGISTRATION), "GET", "2.0.0"
    )
    assert parsed.scope.registration == REGISTRATION.lower()
    with pytest.raises(BadRequest, match="registration"):
        documents.parse_document_params(STATE, state_params(registration="true"), "GET", "2.0.0")


def test_state_list_without_registration_spans_all_registrations() -> None:
    params = state_params()
    del params["stateId"]
    parsed = documents.parse_document_params(STATE, params, "GET", "1.0.3")
    assert parsed.doc_id is None
    assert parsed.scope.registration is None


@pytest.mark.parametrize("missing", ["activityId", "agent", "stateId"])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_writes_need_every_state_parameter(missing: str, method: str) -> None:
    params = state_params()
    del params[missing]
    with pytest.raises(BadRequest, match=missing):
        documents.parse_document_params(STATE, params, method, "1.0.3")


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_reads_and_deletes_need_the_state_context(method: str) -> None:
    params = state_params()
    del params["agent"]
    with pytest.raises(BadRequest, match="agent"):
        documents.parse_document_params(STATE, params, method, "1.0.3")


def test_profile_delete_needs_a_profile_id() -> None:
    with pytest.raises(BadRequest, match="profileId"):
        documents.parse_document_params(
            ACTIVITY_PROFILE, {"activityId": ACTIVITY}, "DELETE", "2.0.0"
        )
    with pytest.raises(BadRequest, match="profileId"):
        documents.parse_document_params(AGENT_PROFILE, {"agent": AGENT}, "DELETE", "2.0.0")


def test_since_lists_ids_only() -> None:
    params = {"activityId": ACTIVITY, "since": "2024-05-01T10:00:00.000Z"}
    parsed = documents.parse_document_params(ACTIVITY_PROFILE, params, "GET", "1.0.3")
    assert parsed.since_ms == 1714557600000
    with pytest.raises(BadRequest, match="since"):
        documents.parse_document_params(
            ACTIVITY_PROFILE, {**params, "profileId": "p"}, "GET", "1.0.3"
        )
    with pytest.raises(BadRequest, match="since"):
        documents.parse_document_params(
            ACTIVITY_PROFILE, {**params, "since": "true"}, "GET", "1.0.3"
        )


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        (
            ACTIVITY_PROFILE,
            {"activityId": ACTIVITY, "profileId": "p", "registration": REGISTRATION},
        ),
        (AGENT_PROFILE, {"agent": AGENT, "profileId": "p", "activityId": ACTIVITY}),
        (STATE, state_params(foo="bar")),
    ],
)
def test_unknown_parameters_are_refused(
    resource: documents.Resource, params: dict[str, str]
) -> None:
    with pytest.raises(BadRequest, match="unknown parameter"):
        documents.parse_document_params(resource, params, "GET", "1.0.3")


@pytest.mark.parametrize(
    "agent",
    [
        "not JSON",
        "true",
        '{"objectType": "Agent", "name": "no identifier"}',
        '{"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]}',
    ],
)
def test_agent_must_be_an_identified_agent(agent: str) -> None:
    with pytest.raises(BadRequest, match="agent"):
        documents.parse_document_params(
            AGENT_PROFILE, {"agent": agent, "profileId": "p"}, "GET", "1.0.3"
        )


def test_activity_id_must_be_an_iri() -> None:
    with pytest.raises(BadRequest, match="activityId"):
        documents.parse_document_params(
            ACTIVITY_PROFILE, {"activityId": "true", "profileId": "p"}, "GET", "1.0.3"
        )


# --- ETags and preconditions --------------------------------------------------------------------


def test_etag_is_the_quoted_lowercase_sha1_of_the_content() -> None:
    assert documents.etag_of(b"hello") == '"' + hashlib.sha1(b"hello").hexdigest() + '"'


ETAG = documents.etag_of(b"stored")


@pytest.mark.parametrize(
    ("current", "pre"),
    [
        (ETAG, Preconditions(if_match=ETAG)),
        (ETAG, Preconditions(if_match=f'"other", {ETAG}')),
        (ETAG, Preconditions(if_match="*")),
        (ETAG, Preconditions(if_match=ETAG.strip('"'))),  # lenient: an unquoted tag
        (None, Preconditions(if_none_match="*")),
        (ETAG, Preconditions(if_none_match='"other"')),
        (None, Preconditions()),
    ],
)
def test_preconditions_that_hold(current: str | None, pre: Preconditions) -> None:
    documents.check_preconditions(current, pre)


@pytest.mark.parametrize(
    ("current", "pre"),
    [
        (ETAG, Preconditions(if_match='"1234"')),
        (None, Preconditions(if_match=ETAG)),
        (None, Preconditions(if_match="*")),
        (ETAG, Preconditions(if_none_match="*")),
        (ETAG, Preconditions(if_none_match=ETAG)),
    ],
)
def test_preconditions_that_fail(current: str | None, pre: Preconditions) -> None:
    with pytest.raises(PreconditionFailed):
        documents.check_preconditions(current, pre)


@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_profile_put_over_a_document_needs_a_header(
    version: str, resource: documents.Resource
) -> None:
    with pytest.raises(Conflict, match="If-Match"):
        documents.check_put_headers(resource, version, True, Preconditions())
    documents.check_put_headers(resource, version, True, Preconditions(if_match=ETAG))


def test_state_put_without_headers_overwrites_in_1_0_3_only() -> None:
    documents.check_put_headers(STATE, "1.0.3", True, Preconditions())
    with pytest.raises(Conflict):
        documents.check_put_headers(STATE, "2.0.0", True, Preconditions())


def test_new_profile_put_needs_a_header_in_1_0_3() -> None:
    with pytest.raises(BadRequest, match="If-None-Match"):
        documents.check_put_headers(ACTIVITY_PROFILE, "1.0.3", False, Preconditions())
    documents.check_put_headers(ACTIVITY_PROFILE, "2.0.0", False, Preconditions())
    documents.check_put_headers(STATE, "1.0.3", False, Preconditions())


# --- POST merge ---------------------------------------------------------------------------------


def stored_json(value: Any, content_type: str = "application/json") -> StoredContent:
    content = orjson.dumps(value)
    return StoredContent(content_type, content, documents.etag_of(content))


def test_merge_replaces_top_level_properties_only() -> None:
    current = stored_json({"x": "foo", "y": "bar", "nested": {"a": 1, "b": 2}})
    merged = documents.posted_content(
        current, "application/json", b'{"x": "bash", "z": "faz", "nested": {"c": 3}}'
    )
    assert orjson.loads(merged) == {"x": "bash", "y": "bar", "z": "faz", "nested": {"c": 3}}


def test_post_of_a_new_document_stores_it_as_sent() -> None:
    assert documents.posted_content(None, "text/plain", b"free text") == b"free text"
    body = b'{"a": 1}'
    assert documents.posted_content(None, "application/json; charset=utf-8", body) == body


@pytest.mark.parametrize(
    ("current", "content_type", "body"),
    [
        (stored_json({"a": 1}), "text/plain", b"abc"),
        (stored_json({"a": 1}), "application/x-www-form-urlencoded", b"abc"),
        (StoredContent("application/octet-stream", b"/ asdf /", '"e"'), "application/json", b"{}"),
        (stored_json({"a": 1}), "application/json", b'{"a": 1}{'),
        (stored_json({"a": 1}), "application/json", b"[1, 2]"),
        (stored_json([1, 2]), "application/json", b'{"a": 1}'),
        (None, "application/json", b'{"a": 1}['),
        (None, "application/json", b'"a string"'),
    ],
)
def test_merges_that_are_refused(
    current: StoredContent | None, content_type: str, body: bytes
) -> None:
    with pytest.raises(BadRequest):
        documents.posted_content(current, content_type, body)


# --- Person and Activity objects ----------------------------------------------------------------

AMINA = {"objectType": "Agent", "mbox": "mailto:amina@example.org"}


def test_person_for_an_unknown_agent_is_built_from_the_request() -> None:
    person = documents.person_object({**AMINA, "name": "Amina"}, [])
    assert person == {
        "objectType": "Person",
        "name": ["Amina"],
        "mbox": ["mailto:amina@example.org"],
    }


def test_person_gathers_names_the_statements_gave_the_agent() -> None:
    statements: list[dict[str, Any]] = [
        {
            "actor": {**AMINA, "name": "Amina B."},
            "object": {"objectType": "Agent", "mbox": "mailto:x@example.org", "name": "X"},
        },
        {
            "actor": {"mbox": "mailto:teacher@example.org", "name": "Teacher"},
            "object": {"objectType": "SubStatement", "actor": {**AMINA, "name": "Amina Bello"}},
            "context": {"team": {"objectType": "Group", "member": [{**AMINA, "name": "Amina B."}]}},
        },
    ]
    person = documents.person_object({**AMINA, "name": "Amina"}, statements)
    assert person["name"] == ["Amina", "Amina B.", "Amina Bello"]
    assert person["mbox"] == ["mailto:amina@example.org"]


@pytest.mark.parametrize(
    ("agent", "prop", "value"),
    [
        (
            {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
            "mbox_sha1sum",
            "cd9b00a5611f94eaa7b1661edab976068e364975",
        ),
        (
            {"openid": "http://openid.example.org/12345"},
            "openid",
            "http://openid.example.org/12345",
        ),
        (
            {"account": {"homePage": "https://moodle.example.org", "name": "42"}},
            "account",
            {"homePage": "https://moodle.example.org", "name": "42"},
        ),
    ],
)
def test_person_properties_are_arrays(agent: dict[str, Any], prop: str, value: Any) -> None:
    person = documents.person_object(agent, [])
    assert person == {"objectType": "Person", prop: [value]}


def test_activity_object_with_and_without_a_definition() -> None:
    assert documents.activity_object(ACTIVITY, None) == {"objectType": "Activity", "id": ACTIVITY}
    definition = {"name": {"en-US": "IBM 101"}}
    assert documents.activity_object(ACTIVITY, definition)["definition"] == definition


def test_activity_id_parameter() -> None:
    assert documents.parse_activity_id({"activityId": ACTIVITY}) == ACTIVITY
    for params in ({}, {"activityId": "true"}, {"activityId": ACTIVITY, "extra": "1"}):
        with pytest.raises(BadRequest):
            documents.parse_activity_id(params)
