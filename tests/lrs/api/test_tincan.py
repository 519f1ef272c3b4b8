"""TinCanPython's RemoteLRS, unmodified, against a real server (quirks: shared/spec/NOTES.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    Context,
    ContextActivities,
    LanguageMap,
    RemoteLRS,
    Statement,
    StatementRef,
    Verb,
)

from tests.conftest import LiveServer

AMINA = Agent(name="Amina", mbox="mailto:amina@example.org")
BOB = Agent(name="Bob", mbox="mailto:bob@example.org")
COMPLETED = Verb(
    id="http://adlnet.gov/expapi/verbs/completed", display=LanguageMap({"en-US": "completed"})
)
VOIDED = Verb(id="http://adlnet.gov/expapi/verbs/voided", display=LanguageMap({"en-US": "voided"}))
COURSE = "https://acbc.iom.int/courses/ibm-101"


@pytest.fixture
def remote(live_server: LiveServer) -> RemoteLRS:
    return RemoteLRS(
        endpoint=live_server.url,
        version="1.0.3",
        username=live_server.credential.key,
        password=live_server.credential.secret,
    )


def _module_statement(module: int, actor: Agent = AMINA) -> Statement:
    return Statement(
        actor=actor,
        verb=COMPLETED,
        object=Activity(
            id=f"{COURSE}/module-{module}",
            definition=ActivityDefinition(name=LanguageMap({"en-US": f"Module {module}"})),
        ),
        context=Context(contextActivities=ContextActivities(parent=[Activity(id=COURSE)])),
        # isoformat() with microseconds, as tincan sends it.
        timestamp=datetime(2024, 6, 3, 14, 3, 22, 123456, tzinfo=UTC) + timedelta(minutes=module),
    )


def test_about_lists_the_version_tincan_speaks(remote: RemoteLRS) -> None:
    response = remote.about()
    assert response.success, response.data
    assert "1.0.3" in response.content.version


def test_save_and_retrieve_one_statement(remote: RemoteLRS) -> None:
    sent = _module_statement(1)
    saved = remote.save_statement(sent)  # POST of a single object, not an array
    assert saved.success, saved.data
    assert saved.content.id is not None
    got = remote.retrieve_statement(str(saved.content.id))
    assert got.success, got.data
    statement = got.content
    assert statement.actor.mbox == AMINA.mbox
    assert statement.verb.id == COMPLETED.id
    assert statement.object.id == f"{COURSE}/module-1"
    assert statement.timestamp == sent.timestamp
    assert statement.stored is not None and statement.authority is not None


def test_save_with_an_id_puts_it(remote: RemoteLRS) -> None:
    statement_id = str(uuid.uuid4())
    sent = _module_statement(2)
    sent.id = statement_id
    assert remote.save_statement(sent).success
    assert remote.save_statement(sent).success  # the same statement again is no conflict
    assert str(remote.retrieve_statement(statement_id).content.id) == statement_id


def test_save_statements_and_query_them(remote: RemoteLRS) -> None:
    saved = remote.save_statements(
        [_module_statement(n) for n in range(3)] + [_module_statement(9, BOB)]
    )
    assert saved.success, saved.data
    ids = {str(s.id) for s in saved.content}
    assert len(ids) == 4
    by_amina = remote.query_statements({"agent": AMINA, "verb": COMPLETED, "limit": 10})
    assert by_amina.success, by_amina.data
    assert {str(s.id) for s in by_amina.content.statements} == ids - {str(saved.content[3].id)}
    # tincan sends related_activities=True (capital T).
    related = remote.query_statements({"activity": Activity(id=COURSE), "related_activities": True})
    assert related.success, related.data
    assert {str(s.id) for s in related.content.statements} == ids
    since = remote.query_statements({"since": datetime.now(tz=UTC) - timedelta(minutes=5)})
    assert since.success, since.data
    assert len(since.content.statements) == 4


def test_more_statements_pages_to_the_end(remote: RemoteLRS) -> None:
    saved = remote.save_statements([_module_statement(n) for n in range(25)])
    assert saved.success, saved.data
    result = remote.query_statements({"limit": 10, "ascending": True})
    assert result.success, result.data
    seen = [str(s.id) for s in result.content.statements]
    while result.content.more:
        assert result.content.more.startswith("/xapi/statements?more=")
        result = remote.more_statements(result.content)
        assert result.success, result.data
        seen += [str(s.id) for s in result.content.statements]
    assert seen == [str(s.id) for s in saved.content]


def test_voided_statements_are_retrieved_as_voided(remote: RemoteLRS) -> None:
    target = remote.save_statement(_module_statement(4)).content
    voiding = Statement(actor=AMINA, verb=VOIDED, object=StatementRef(id=target.id))
    assert remote.save_statement(voiding).success
    assert not remote.retrieve_statement(str(target.id)).success
    voided = remote.retrieve_voided_statement(str(target.id))
    assert voided.success, voided.data
    assert str(voided.content.id) == str(target.id)
    listed = remote.query_statements({"verb": COMPLETED})
    assert str(target.id) not in {str(s.id) for s in listed.content.statements}
