"""What statements from each source count for: Moodle (logstore_xapi), cmi5, attendance sheets."""

from __future__ import annotations

from typing import Any

from courses._catalog_files import read_catalog_dir
from courses.catalog import catalog_from_documents
from courses.config import DEFAULT_CATALOG_DIR
from courses.facts import (
    COHORT_EXTENSION,
    COUNTRY_EXTENSION,
    EMAIL_EXTENSION,
    email_sha1,
    read_statement,
)

_loaded = read_catalog_dir(DEFAULT_CATALOG_DIR, "https://acbc.iom.int/xapi")
CATALOG = catalog_from_documents(_loaded.courses, _loaded.sites)
KE = "https://training-ke.acbc.iom.int"
ADL = "http://adlnet.gov/expapi/verbs/"


def _moodle(verb: str, obj: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
        "actor": {"name": "Wanjiru", "account": {"homePage": KE, "name": "88"}},
        "verb": {"id": verb},
        "object": {
            "id": obj,
            "definition": {"type": "http://id.tincanapi.com/activitytype/lms/module"},
        },
        "timestamp": "2026-04-07T11:30:00+03:00",
        "context": {
            "contextActivities": {"grouping": [{"id": KE}, {"id": f"{KE}/course/view.php?id=7"}]}
        },
        **extra,
    }


def test_a_moodle_quiz_completion_counts_for_the_module_and_the_course() -> None:
    statement = _moodle(
        ADL + "completed",
        f"{KE}/mod/quiz/view.php?id=704",
        result={"score": {"raw": 15, "min": 0, "max": 20}, "success": True},
    )
    identity, facts = read_statement(42, statement, CATALOG)
    assert (
        identity is not None
        and identity.key == f'account:["{KE}","88"]'
        and identity.email_sha1 is None
    )
    by_unit = {f.unit: f for f in facts}
    assert set(by_unit) == {"final-quiz", "moodle-course"}
    quiz = by_unit["final-quiz"]
    assert (quiz.course, quiz.outcome, quiz.score, quiz.country, quiz.seq) == (
        "IBM-101",
        "passed",
        0.75,
        "KE",
        42,
    )
    assert quiz.at_ms == 1775550600000  # 08:30Z
    assert (by_unit["moodle-course"].outcome, by_unit["moodle-course"].score) == ("activity", None)


def test_a_failed_attempt_and_a_plain_view() -> None:
    _, failed = read_statement(
        1,
        _moodle(
            ADL + "completed",
            f"{KE}/mod/quiz/view.php?id=704",
            result={"score": {"scaled": 0.4}, "success": False},
        ),
        CATALOG,
    )
    assert {f.unit: f.outcome for f in failed}["final-quiz"] == "failed"
    _, viewed = read_statement(
        2, _moodle("http://id.tincanapi.com/verb/viewed", f"{KE}/mod/page/view.php?id=701"), CATALOG
    )
    assert {f.unit: f.outcome for f in viewed} == {
        "orientation": "activity",
        "moodle-course": "activity",
    }


def test_statements_about_other_activities_count_for_nothing() -> None:
    statement = _moodle(ADL + "completed", f"{KE}/mod/forum/view.php?id=5")
    statement["context"] = {}
    assert read_statement(3, statement, CATALOG) == (None, [])


def test_cmi5_verbs_count_for_the_au_and_the_package() -> None:
    base = "https://acbc.iom.int/xapi/packages/hbm-120"
    lms = {"account": {"homePage": "https://lms.acbc.iom.int", "name": "u1"}}
    satisfied = {
        "id": "a" * 8 + "-0000-4000-8000-" + "0" * 12,
        "actor": lms,
        "timestamp": "2026-05-01T10:00:00Z",
        "verb": {"id": "https://w3id.org/xapi/adl/verbs/satisfied"},
        "object": {"id": base},
    }
    _, facts = read_statement(5, satisfied, CATALOG)
    assert [(f.course, f.unit, f.outcome) for f in facts] == [("HBM-120", "package", "satisfied")]
    passed = {
        **satisfied,
        "verb": {"id": ADL + "passed"},
        "object": {"id": f"{base}/au/final-assessment"},
        "result": {"score": {"scaled": 0.9}, "success": True},
    }
    _, facts = read_statement(6, passed, CATALOG)
    assert [(f.unit, f.outcome, f.score) for f in facts] == [("final-assessment", "passed", 0.9)]


def test_attendance_carries_days_cohort_country_and_email() -> None:
    statement = {
        "id": "b" * 8 + "-0000-4000-8000-" + "0" * 12,
        "actor": {"account": {"homePage": "https://attendance.acbc.iom.int", "name": "P-0001"}},
        "verb": {"id": ADL + "attended"},
        "object": {"id": "https://acbc.iom.int/xapi/sessions/tot-400/2026-dakar"},
        "result": {"extensions": {"https://acbc.iom.int/xapi/extensions/attendance-days": 3}},
        "context": {"extensions": {EMAIL_EXTENSION: "Awa.Ndiaye@Police.example.SN"}},
        "timestamp": "2026-10-12T08:00:00Z",
    }
    identity, facts = read_statement(7, statement, CATALOG)
    assert identity is not None and identity.email_sha1 == email_sha1(
        "awa.ndiaye@police.example.sn"
    )
    [attended] = facts
    assert (attended.course, attended.unit, attended.outcome, attended.days) == (
        "TOT-400",
        "facilitation",
        "attended",
        3,
    )
    assert (attended.country, attended.cohort) == ("SN", "TOT-2026-DKR")
    statement["context"]["extensions"].update(
        {COUNTRY_EXTENSION: "gm", COHORT_EXTENSION: "TOT-2026-BJL"}
    )
    statement["result"]["extensions"]["https://acbc.iom.int/xapi/extensions/attendance-days"] = (
        "three"
    )
    [declared] = read_statement(7, statement, CATALOG)[1]
    assert (declared.country, declared.cohort, declared.days) == ("GM", "TOT-2026-BJL", 1)


def test_emails_come_from_mbox_sha1_or_the_extension_and_groups_are_not_learners() -> None:
    moodle = _moodle(ADL + "completed", f"{KE}/mod/page/view.php?id=701")
    moodle["actor"] = {"mbox": "mailto:Ama@Example.org"}
    assert read_statement(1, moodle, CATALOG)[0].email_sha1 == email_sha1("ama@example.org")  # type: ignore[union-attr]
    moodle["actor"] = {"mbox_sha1sum": email_sha1("ama@example.org").upper()}
    assert read_statement(1, moodle, CATALOG)[0].email_sha1 == email_sha1("ama@example.org")  # type: ignore[union-attr]
    moodle["actor"] = {
        "objectType": "Group",
        "mbox": "mailto:team@example.org",
        "member": [{"mbox": "mailto:ama@example.org"}],
    }
    assert read_statement(1, moodle, CATALOG) == (None, [])
