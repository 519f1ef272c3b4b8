"""The xAPI statements the LRS itself records for each certificate issued or revoked (pure).

Their ids derive from the certificate and the event, so recording one twice (a retry after a
crash) stores it once (Data 2.4.1: same id, same content). The object is the certificate as
an activity; the course is named in an extension, not in context activities, so the courses
aggregator never counts these statements as course activity.
"""

from __future__ import annotations

import uuid
from typing import Any

from lrs.xapi.prepare import format_instant_ms

NAMESPACE = uuid.UUID("6f1e3a52-8c0e-4b9e-9d57-0c3f1a2b7e41")
VOCABULARY = "https://w3id.org/xapi/acbc"
EARNED = f"{VOCABULARY}/verbs/earned-certificate"
REVOKED = f"{VOCABULARY}/verbs/revoked-certificate"
CERTIFICATE_TYPE = f"{VOCABULARY}/activity-types/certificate"
EXT = f"{VOCABULARY}/extensions/"
OWN_VERBS = frozenset({EARNED, REVOKED})


def statement_id(certificate_id: str, event: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{certificate_id}:{event}"))


def _certificate_activity(
    base_iri: str, certificate: dict[str, Any], title: dict[str, str]
) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{base_iri}/certificates/{certificate['id']}",
        "definition": {
            "type": CERTIFICATE_TYPE,
            "name": {"en": f"Certificate: {title['en']}", "fr": f"Certificat : {title['fr']}"},
            "extensions": {
                EXT + "course": f"{base_iri}/courses/{certificate['course']}",
                EXT + "course-version": certificate["course_version"],
            },
        },
    }


def earned_statement(
    base_iri: str, certificate: dict[str, Any], title: dict[str, str], issued_ms: int
) -> dict[str, Any]:
    expires = certificate["expires_ms"]
    return {
        "id": statement_id(certificate["id"], f"issued:{issued_ms}"),
        "actor": certificate["agent"],
        "verb": {
            "id": EARNED,
            "display": {"en": "earned the certificate", "fr": "a obtenu le certificat"},
        },
        "object": _certificate_activity(base_iri, certificate, title),
        "result": {
            "success": True,
            "completion": True,
            "extensions": {
                EXT + "evidence": list(certificate["evidence"]),
                EXT + "issued-by": certificate["issued_by"],
                EXT + "expires": format_instant_ms(expires) if expires is not None else None,
            },
        },
        "timestamp": format_instant_ms(issued_ms),
    }


def revoked_statement(
    base_iri: str, certificate: dict[str, Any], title: dict[str, str], revoked_ms: int
) -> dict[str, Any]:
    return {
        "id": statement_id(certificate["id"], f"revoked:{revoked_ms}"),
        "actor": certificate["agent"],
        "verb": {
            "id": REVOKED,
            "display": {
                "en": "had the certificate revoked",
                "fr": "s'est vu retirer le certificat",
            },
        },
        "object": _certificate_activity(base_iri, certificate, title),
        "result": {
            "success": False,
            "extensions": {
                EXT + "reason": certificate["reason"],
                EXT + "revoked-by": certificate["revoked_by"],
            },
        },
        "timestamp": format_instant_ms(revoked_ms),
    }
