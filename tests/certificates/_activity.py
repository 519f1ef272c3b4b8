"""Statements an official's learning sends: IBM-101 on the ACBC campus, TOT-400 afterwards."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

CAMPUS = "https://campus.acbc.iom.int"
BASE = "https://acbc.iom.int/xapi"
ADL = "http://adlnet.gov/expapi/verbs/"
EXT = "https://acbc.iom.int/xapi/extensions/"
AMINA = {"name": "Amina Diallo", "account": {"homePage": CAMPUS, "name": "501"}}
IBM_MODULES = {
    "orientation": ("page", 1201),
    "pillars": ("scorm", 1202),
    "interagency": ("lesson", 1203),
    "final-quiz": ("quiz", 1204),
}


def completed(
    kind: str, number: int, actor: dict[str, Any], score: float | None, at: str, course: int = 12
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": ADL + "completed"},
        "object": {"id": f"{CAMPUS}/mod/{kind}/view.php?id={number}"},
        "context": {
            "contextActivities": {"grouping": [{"id": f"{CAMPUS}/course/view.php?id={course}"}]}
        },
        "timestamp": at,
    }
    if score is not None:
        statement["result"] = {"score": {"scaled": score}, "success": score >= 0.7}
    return statement


def ibm_101(
    actor: dict[str, Any] = AMINA, quiz: float = 0.9, at: str = "2026-03-10T09:00:00Z"
) -> list[dict[str, Any]]:
    """Every IBM-101 module completed, the final quiz with this score."""
    return [
        completed(kind, number, actor, quiz if name == "final-quiz" else None, at)
        for name, (kind, number) in IBM_MODULES.items()
    ]


def tot_400(
    actor: dict[str, Any] = AMINA, at: str = "2026-07-10T09:00:00Z"
) -> list[dict[str, Any]]:
    """Training of trainers: the adult-learning module, four days of workshop, micro-teaching."""
    attended = {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": {"id": ADL + "attended"},
        "object": {"id": f"{BASE}/sessions/tot-400/2026-moshi"},
        "result": {"extensions": {EXT + "attendance-days": 4}},
        "timestamp": "2026-07-09T17:00:00Z",
    }
    return [
        completed("scorm", 4001, actor, None, at, course=40),
        attended,
        completed("assign", 4003, actor, 0.85, at, course=40),
    ]


def void(statement_id: str) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:registrar@acbc.example.org"},
        "verb": {"id": ADL + "voided"},
        "object": {"objectType": "StatementRef", "id": statement_id},
    }


async def send(xapi: httpx.AsyncClient, statements: list[dict[str, Any]]) -> None:
    response = await xapi.post("/xapi/statements", json=statements)
    assert response.status_code == 200, response.text
