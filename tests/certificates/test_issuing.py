"""Certificates follow the rules: issued automatically, approved, chained, reviewed, re-issued."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from certificates import ops
from tests.certificates._activity import AMINA, ibm_101, send, tot_400, void
from tests.certificates.conftest import Settle

EARNED = "https://w3id.org/xapi/acbc/verbs/earned-certificate"
REVOKED = "https://w3id.org/xapi/acbc/verbs/revoked-certificate"


async def _certificates(admin: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await admin.get("/api/v1/certificates", params=params)
    assert response.status_code == 200, response.text
    certificates: list[dict[str, Any]] = response.json()["certificates"]
    return certificates


async def _statements(xapi: httpx.AsyncClient, verb: str) -> list[dict[str, Any]]:
    response = await xapi.get("/xapi/statements", params={"verb": verb})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["statements"]
    return found


async def test_passing_a_course_issues_a_certificate_recorded_in_xapi(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    statements = ibm_101()
    await send(xapi, statements)
    await settle()

    [certificate] = await _certificates(admin)
    assert certificate["course"] == "IBM-101"
    assert certificate["status"] == "issued"
    assert certificate["learner"]["name"] == "Amina Diallo"
    assert certificate["issued_by"].startswith("rule:IBM-101@")
    assert certificate["expires_at"].startswith("2029-03-10")  # 36 months after the quiz
    full = (await admin.get(f"/api/v1/certificates/{certificate['id']}")).json()
    assert set(full["evidence"]) == {s["id"] for s in statements}
    assert full["course_version"] == certificate["course_version"]

    [earned] = await _statements(xapi, EARNED)
    assert earned["actor"]["account"] == AMINA["account"]
    assert earned["object"]["id"].endswith(f"/certificates/{certificate['id']}")
    assert earned["authority"]["account"]["name"] == "certificates"  # the LRS itself
    # Deciding again changes nothing: one certificate, one statement.
    await settle()
    assert len(await _certificates(admin)) == 1
    assert len(await _statements(xapi, EARNED)) == 1


async def test_a_failed_course_issues_nothing(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    await send(xapi, ibm_101(quiz=0.5))
    await settle()
    assert await _certificates(admin) == []


async def test_training_of_trainers_needs_the_base_certificate_and_a_sign_off(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    await send(xapi, tot_400())  # the trainer course first, without the base certificate
    await settle()
    assert await _certificates(admin) == []

    await send(xapi, ibm_101())  # IBM-101 finished in March, before TOT-400 in July
    await settle()
    by_course = {c["course"]: c for c in await _certificates(admin)}
    assert by_course["IBM-101"]["status"] == "issued"
    assert by_course["TOT-400"]["status"] == "pending"  # waits for a trainer's sign-off
    pending_id = by_course["TOT-400"]["id"]
    assert (await admin.get(f"/api/v1/certificates/{pending_id}/verify")).json()[
        "status"
    ] == "pending"

    approved = await admin.post(f"/api/v1/certificates/{pending_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "issued"
    assert approved.json()["issued_by"] == "admin:admin-user"
    assert len(await _statements(xapi, EARNED)) == 2
    again = await admin.post(f"/api/v1/certificates/{pending_id}/approve")
    assert again.status_code == 409


async def test_a_revoked_base_certificate_blocks_the_trainer_certificate(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    await send(xapi, ibm_101())
    await settle()
    [base] = await _certificates(admin)
    revoked = await admin.post(
        f"/api/v1/certificates/{base['id']}/revoke", json={"reason": "exam fraud"}
    )
    assert revoked.status_code == 200, revoked.text
    await send(xapi, tot_400())
    await settle()
    assert [c["course"] for c in await _certificates(admin)] == ["IBM-101"]


async def test_revocation_then_reissue_when_the_learner_qualifies_again(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    await send(xapi, ibm_101())
    await settle()
    [first] = await _certificates(admin)
    response = await admin.post(
        f"/api/v1/certificates/{first['id']}/revoke", json={"reason": "quiz taken by someone else"}
    )
    assert response.json()["status"] == "revoked"
    assert response.json()["reason"] == "quiz taken by someone else"
    [statement] = await _statements(xapi, REVOKED)
    assert statement["object"]["id"].endswith(first["id"])

    await settle()  # the same evidence does not earn it back
    assert [c["status"] for c in await _certificates(admin)] == ["revoked"]

    await send(xapi, ibm_101(at="2026-09-01T10:00:00Z"))  # the official retakes the course
    await settle()
    statuses = {c["id"]: c["status"] for c in await _certificates(admin)}
    assert statuses.pop(first["id"]) == "revoked"
    assert list(statuses.values()) == ["issued"]


async def test_voiding_evidence_flags_the_certificate_for_review(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle
) -> None:
    statements = ibm_101()
    await send(xapi, statements)
    await settle()
    [certificate] = await _certificates(admin)
    quiz = statements[-1]["id"]

    await send(xapi, [void(quiz)])
    await settle()
    [flagged] = await _certificates(admin)
    assert flagged["status"] == "review"
    assert quiz in flagged["reason"]
    verdict = (await admin.get(f"/api/v1/certificates/{certificate['id']}/verify")).json()
    assert verdict["status"] == "review"
    assert [c["id"] for c in await _certificates(admin, status="review")] == [certificate["id"]]

    # An administrator decides: here the certificate is revoked.
    response = await admin.post(
        f"/api/v1/certificates/{certificate['id']}/revoke", json={"reason": "quiz result voided"}
    )
    assert response.json()["status"] == "revoked"


async def test_expired_certificates_and_recertification_planning(
    xapi: httpx.AsyncClient, admin: httpx.AsyncClient, settle: Settle, cx: ops.CertContext
) -> None:
    # IBM-101 passed in 2023 (expired in 2026), and again by another official this year.
    await send(xapi, ibm_101(at="2023-01-10T09:00:00Z"))
    other = {
        "name": "Kofi Mensah",
        "account": {"homePage": AMINA["account"]["homePage"], "name": "502"},
    }
    await send(xapi, ibm_101(actor=other, at="2026-03-10T09:00:00Z"))
    await settle()
    by_name = {c["learner"]["name"]: c for c in await _certificates(admin)}
    assert by_name["Amina Diallo"]["status"] == "expired"
    assert by_name["Kofi Mensah"]["status"] == "issued"
    expired = await _certificates(admin, status="expired")
    assert [c["learner"]["name"] for c in expired] == ["Amina Diallo"]
    # Kofi's expires in March 2029: within 3 years and a half, not within a year.
    assert await _certificates(admin, expiring_within="365") == []
    soon = await _certificates(admin, expiring_within="1300", course="IBM-101")
    assert [c["learner"]["name"] for c in soon] == ["Kofi Mensah"]
    csv = await admin.get("/api/v1/certificates", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("id,learner_id,learner_name,course")
    assert len(lines) == 3 and "Kofi Mensah" in csv.text
    assert orjson.loads((await admin.get("/api/v1/certificates", params={"status": "x"})).content)[
        "error"
    ]
