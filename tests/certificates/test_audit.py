"""The audit log: every decision and administrative act, chained; tampering is named."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from starlette.applications import Starlette

from certificates import ops
from courses import ops as course_ops
from courses.plugin import CoursesPlugin
from lrs.config import Settings
from lrs.ops import credentials as credential_ops
from tests.certificates._activity import AMINA, ibm_101, send, tot_400
from tests.certificates.conftest import Settle
from tests.courses._clients import ClientFor

LRS = str(Path(sys.executable).parent / "lrs")


async def _entries(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_decisions_and_administrative_acts_are_all_in_the_log(
    xapi: httpx.AsyncClient,
    api_as: ClientFor,
    settle: Settle,
    cert_app: Starlette,
    courses_plugin: CoursesPlugin,
) -> None:
    admin = await api_as("admin")
    auditor = await api_as("auditor")
    made = await credential_ops.add_credential(
        cert_app.state.lrs, "moodle-sn", ["statements/write"]
    )
    await credential_ops.revoke_credential(cert_app.state.lrs, made.key)
    email_twin = {"name": "Amina Diallo", "mbox": "mailto:amina@police.example.sn"}
    linked = await admin.post("/api/v1/learners/link", json={"agents": [AMINA, email_twin]})
    assert linked.status_code == 200, linked.text
    await send(xapi, ibm_101() + tot_400())
    await settle()
    [trainer] = [
        c
        for c in (await admin.get("/api/v1/certificates")).json()["certificates"]
        if c["course"] == "TOT-400"
    ]
    await admin.post(f"/api/v1/certificates/{trainer['id']}/approve")
    await admin.post(
        f"/api/v1/certificates/{trainer['id']}/revoke", json={"reason": "left the service"}
    )

    actions = [e["action"] for e in await _entries(auditor)]
    for expected in (
        "key.created",
        "catalogue.changed",
        "user.created",
        "credential.created",
        "credential.revoked",
        "identities.linked",
        "certificate.issued",
        "certificate.awaiting_approval",
        "certificate.approved",
        "certificate.revoked",
    ):
        assert expected in actions, expected

    mine = await _entries(auditor, actor="admin-user")
    assert [e["action"] for e in mine] == ["certificate.approved", "certificate.revoked"]
    assert mine[1]["detail"]["reason"] == "left the service"
    learner = mine[0]["learner"]
    about_her = await _entries(auditor, learner=learner, course="TOT-400")
    assert [e["action"] for e in about_her] == [
        "certificate.awaiting_approval",
        "certificate.approved",
        "certificate.revoked",
    ]
    assert await _entries(auditor, since="2000-01-01", until="2000-12-31") == []
    csv = await auditor.get(
        "/api/v1/audit", params={"format": "csv", "action": "certificate.revoked"}
    )
    assert csv.text.splitlines()[0].startswith("seq,at,actor,action")
    assert len(csv.text.strip().splitlines()) == 2
    check = (await auditor.get("/api/v1/audit/verify")).json()
    assert check["intact"] is True and check["entries"] == len(actions)


async def test_each_entry_carries_the_hash_of_the_one_before(
    cx: ops.CertContext, api_as: ClientFor
) -> None:
    await ops.record_act(cx, "cli:tester", "key.rotated", subject="k1")
    entries = await _entries(await api_as("auditor"))
    for before, after in itertools.pairwise(entries):
        assert after["prev_hash"] == before["hash"]
        assert after["seq"] == before["seq"] + 1


async def _lrs_command(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LRS_DATABASE_URL": settings.database_url}
    return await asyncio.to_thread(
        subprocess.run, [LRS, *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_lrs_audit_verify_names_an_entry_altered_in_the_database(
    cx: ops.CertContext, settings: Settings
) -> None:
    for n in range(5):
        await ops.record_act(cx, "cli:tester", "key.rotated", subject=f"k{n}")
    ok = await _lrs_command(settings, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit log intact" in ok.stdout

    async with cx.lrs.store.write() as tx:  # someone edits the log behind the LRS's back
        row = (await tx.conn.execute(text("SELECT seq FROM cert_audit ORDER BY seq"))).all()[3]
        await tx.conn.execute(
            text("UPDATE cert_audit SET actor = 'someone-else' WHERE seq = :seq"), {"seq": row[0]}
        )
    broken = await _lrs_command(settings, "audit", "verify")
    assert broken.returncode == 1
    assert f"entry {row[0]} was altered" in broken.stderr
    assert "Traceback" not in broken.stderr


async def test_a_deleted_entry_is_named_missing(cx: ops.CertContext) -> None:
    for n in range(4):
        await ops.record_act(cx, "cli:tester", "key.rotated", subject=f"k{n}")
    async with cx.lrs.store.write() as tx:
        await tx.conn.execute(text("DELETE FROM cert_audit WHERE seq = 2"))
    _, problem = await ops.verify_audit(cx)
    assert problem is not None and problem.startswith("entry 2 is missing")
    async with cx.lrs.store.write() as tx:
        last = (await tx.conn.execute(text("SELECT max(seq) FROM cert_audit"))).scalar_one()
        await tx.conn.execute(text("DELETE FROM cert_audit WHERE seq = :s"), {"s": last})
        await tx.conn.execute(text("DELETE FROM cert_audit WHERE seq < 5"))
    _, problem = await ops.verify_audit(cx)
    assert problem is not None and "missing" in problem


async def test_roles_designers_see_progress_auditors_read_admins_decide(
    api_as: ClientFor, anonymous: httpx.AsyncClient, xapi: httpx.AsyncClient, settle: Settle
) -> None:
    designer, auditor = await api_as("designer"), await api_as("auditor")
    assert (await designer.get("/api/v1/courses/IBM-101/progress")).status_code == 200
    assert (await designer.get("/api/v1/certificates")).status_code == 403
    assert (await designer.get("/api/v1/audit")).status_code == 403
    assert (await anonymous.get("/api/v1/audit")).status_code == 401
    await send(xapi, ibm_101())
    await settle()
    [certificate] = (await auditor.get("/api/v1/certificates")).json()["certificates"]
    forbidden = await auditor.post(
        f"/api/v1/certificates/{certificate['id']}/revoke", json={"reason": "no"}
    )
    assert forbidden.status_code == 403
    assert orjson.loads(forbidden.content)["message"]


async def test_bad_requests_are_4xx_json(
    admin: httpx.AsyncClient, xapi: httpx.AsyncClient, settle: Settle
) -> None:
    await send(xapi, ibm_101())
    await settle()
    [certificate] = (await admin.get("/api/v1/certificates")).json()["certificates"]
    path = f"/api/v1/certificates/{certificate['id']}"
    cases = [
        admin.get("/api/v1/audit", params={"since": "yesterday"}),
        admin.get("/api/v1/audit", params={"since": "2026-05-01", "until": "2026-04-01"}),
        admin.get("/api/v1/audit", params={"who": "me"}),
        admin.get("/api/v1/audit", params={"limit": "0"}),
        admin.get("/api/v1/certificates", params={"expiring_within": "-3"}),
        admin.get("/api/v1/certificates", params={"format": "xml"}),
        admin.get("/api/v1/certificates/nope"),
        admin.get("/api/v1/certificates/00000000-0000-0000-0000-000000000000"),
        admin.post(f"{path}/revoke", json={"reason": ""}),
        admin.post(f"{path}/revoke", json=["reason"]),
        admin.post(f"{path}/revoke", content=b"{not json"),
        admin.post(f"{path}/revoke", json={"reason": "x" * 501}),
        admin.get(f"{path}.pdf", params={"lang": "de"}),
    ]
    for response in await asyncio.gather(*cases):
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        assert response.json()["message"]


async def test_rotating_keys_from_the_command_line_is_audited(
    cx: ops.CertContext, settings: Settings, courses_plugin: CoursesPlugin
) -> None:
    await course_ops.add_user(courses_plugin.context, "eve", "auditor", "long-password")
    rotated = await _lrs_command(settings, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    entries = await ops.find_audit(cx, ops.AuditFilter(action="key.rotated"), 10, 0)
    assert len(entries) == 1 and entries[0].actor.startswith("cli:")
