"""Certificates and audit entries as JSON documents and CSV (pure)."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from certificates import rules
from certificates.chain import Entry
from certificates.store import StoredCertificate
from lrs.xapi.prepare import format_instant_ms


def instant(epoch_ms: int | None) -> str | None:
    return format_instant_ms(epoch_ms) if epoch_ms is not None else None


def certificate_json(c: StoredCertificate, now_ms: int, full: bool = True) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": c.id,
        "learner": {"id": c.learner_id, "name": c.learner_name},
        "course": c.course,
        "course_version": c.course_version,
        "status": rules.display_status(c.status, c.expires_ms, now_ms),
        "valid_from": instant(c.valid_from_ms),
        "issued_at": instant(c.issued_ms),
        "expires_at": instant(c.expires_ms),
        "issued_by": c.issued_by,
    }
    if c.status in (rules.REVOKED, rules.REVIEW):
        document["reason"] = c.reason
    if c.status == rules.REVOKED:
        document |= {"revoked_at": instant(c.revoked_ms), "revoked_by": c.revoked_by}
    if full:
        document |= {
            "learner": {**document["learner"], "agent": orjson.loads(c.agent)},
            "evidence": c.evidence_ids,
            "created_at": instant(c.created_ms),
            "token": c.token,
        }
    return document


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def certificates_csv(certificates: list[StoredCertificate], now_ms: int) -> str:
    header = [
        "id",
        "learner_id",
        "learner_name",
        "course",
        "course_version",
        "status",
        "valid_from",
        "issued_at",
        "expires_at",
        "issued_by",
        "revoked_at",
        "reason",
        "evidence",
    ]
    rows = [
        [
            c.id,
            c.learner_id,
            c.learner_name,
            c.course,
            c.course_version,
            rules.display_status(c.status, c.expires_ms, now_ms),
            instant(c.valid_from_ms),
            instant(c.issued_ms),
            instant(c.expires_ms),
            c.issued_by,
            instant(c.revoked_ms),
            c.reason,
            " ".join(c.evidence_ids),
        ]
        for c in certificates
    ]
    return _csv(header, rows)


def audit_json(entry: Entry) -> dict[str, Any]:
    document = entry.as_json()
    document["at"] = instant(entry.at_ms)
    return document


def audit_csv(entries: list[Entry]) -> str:
    header = [
        "seq",
        "at",
        "actor",
        "action",
        "learner",
        "course",
        "subject",
        "detail",
        "prev_hash",
        "hash",
    ]
    rows = [
        [
            e.seq,
            instant(e.at_ms),
            e.actor,
            e.action,
            e.learner,
            e.course,
            e.subject,
            e.detail,
            e.prev_hash,
            e.hash,
        ]
        for e in entries
    ]
    return _csv(header, rows)
