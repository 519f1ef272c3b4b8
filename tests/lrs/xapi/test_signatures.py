"""Signed statements: which JWS signature attachments are accepted and which rejected."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from lrs.errors import BadRequest
from lrs.types import Statement
from lrs.xapi.attachments import AttachmentPart, check_attachments, parse_statement_request
from lrs.xapi.signatures import (
    SIGNATURE_USAGE_TYPE,
    check_signed_statement,
    statement_difference,
)

OCTET_STREAM = "application/octet-stream"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def x5c(key: rsa.RSAPrivateKey) -> list[str]:
    """A one-certificate chain: the signer's self-signed certificate."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xAPI test signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return [base64.b64encode(der).decode()]


def base_statement() -> Statement:
    """The suite's default statement template, with the id the suite sets."""
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:xapi@adlnet.gov"},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/attended",
            "display": {"en-GB": "attended", "en-US": "attended"},
        },
        "object": {
            "objectType": "Activity",
            "id": "http://www.example.com/meetings/occurances/34534",
        },
    }


def jws(payload: Any, signing_key: Any, algorithm: str = "RS256", **header: Any) -> bytes:
    """A compact JWS whose payload is `payload` serialized (or `payload` itself if bytes)."""
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return jwt.api_jws.encode(
        data, signing_key, algorithm=algorithm, headers=header or None
    ).encode()


def with_signature(
    statement: Statement, token: bytes, content_type: str = OCTET_STREAM
) -> tuple[Statement, dict[str, AttachmentPart]]:
    """The statement as sent with its signature attachment, and the part holding the JWS."""
    sha2 = hashlib.sha256(token).hexdigest()
    signature = {
        "usageType": SIGNATURE_USAGE_TYPE,
        "display": {"en-US": "Signed by the Test Suite"},
        "contentType": content_type,
        "length": len(token),
        "sha2": sha2,
    }
    sent = {**statement, "attachments": [*statement.get("attachments", []), signature]}
    return sent, {sha2: AttachmentPart(sha2, content_type, token)}


def rejection(statement: Statement, parts: dict[str, AttachmentPart]) -> str:
    with pytest.raises(BadRequest) as caught:
        check_signed_statement(statement, parts)
    assert caught.value.status == 400
    return caught.value.message


# ---------------------------------------------------------------------------------------------
# Accepted signatures


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_signature_verified_with_the_x5c_certificate_is_accepted(
    key: rsa.RSAPrivateKey, x5c: list[str], algorithm: str
) -> None:
    statement = base_statement()
    check_signed_statement(*with_signature(statement, jws(statement, key, algorithm, x5c=x5c)))


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_suite_signed_request_without_x5c_is_accepted(
    key: rsa.RSAPrivateKey, algorithm: str
) -> None:
    """helper.signStatement's exact body: no x5c, no spaces after header colons, no epilogue."""
    statement = base_statement()
    token = jws(statement, key, algorithm)
    sent, parts = with_signature(statement, token)
    boundary = f"-------------__{uuid.uuid4()}__123__456"  # v2_0 util/requests.js
    body = b"".join(
        [
            f"\r\n--{boundary}\r\nContent-Type:application/json\r\n\r\n".encode(),
            orjson.dumps(sent),
            f"\r\n--{boundary}\r\nContent-Type:{OCTET_STREAM}\r\nContent-Transfer-Encoding:binary"
            f"\r\nX-Experience-API-Hash:{sent['attachments'][0]['sha2']}\r\n\r\n".encode(),
            token,
            f"\r\n--{boundary}--".encode(),
        ]
    )
    request = parse_statement_request(body, f"multipart/mixed; boundary={boundary}")
    received = orjson.loads(request.statement_body)
    check_attachments([received], request.parts)
    check_signed_statement(received, request.parts)
    assert request.parts == parts


def _no_lrs_properties(statement: Statement) -> Statement:
    return {k: v for k, v in statement.items() if k not in ("id", "timestamp", "version")}


def _untyped(thing: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in thing.items() if k != "objectType"}


EQUIVALENT = {
    # (change to the signed payload, change to the statement as received)
    "payload lacks id, timestamp, version": (
        _no_lrs_properties,
        lambda s: {**s, "timestamp": "2024-01-02T03:04:05Z", "version": "1.0.0"},
    ),
    "statement lacks id": (lambda s: s, lambda s: {k: v for k, v in s.items() if k != "id"}),
    "statement lacks authority and stored": (
        lambda s: {
            **s,
            "stored": "2024-01-02T03:04:05Z",
            "authority": {"mbox": "mailto:lrs@example.com"},
        },
        lambda s: s,
    ),
    "timestamp in another zone": (
        lambda s: {**s, "timestamp": "2024-01-02T05:04:05.120+02:00"},
        lambda s: {**s, "timestamp": "2024-01-02T03:04:05.12Z"},
    ),
    "group members reordered": (
        lambda s: {
            **s,
            "actor": {
                "objectType": "Group",
                "member": [{"mbox": "mailto:a@x.org"}, {"mbox": "mailto:b@x.org"}],
            },
        },
        lambda s: {
            **s,
            "actor": {
                "objectType": "Group",
                "member": [{"mbox": "mailto:b@x.org"}, {"mbox": "mailto:a@x.org"}],
            },
        },
    ),
    "activity definition and verb display differ": (
        lambda s: {**s, "object": {**s["object"], "definition": {"name": {"en": "A"}}}},
        lambda s: {**s, "verb": {"id": s["verb"]["id"]}},
    ),
    "e-mail domain case": (
        lambda s: {**s, "actor": {"mbox": "mailto:xapi@ADLNET.gov"}},
        lambda s: {**s, "actor": {"mbox": "mailto:xapi@adlnet.gov"}},
    ),
    "default objectTypes left out": (
        lambda s: {**s, "actor": _untyped(s["actor"]), "object": _untyped(s["object"])},
        lambda s: s,
    ),
    "upper-case statement id": (lambda s: {**s, "id": s["id"].upper()}, lambda s: s),
    "payload keeps another attachment": (
        lambda s: {**s, "attachments": [{"usageType": "http://example.com/u", "sha2": "ab"}]},
        lambda s: s,
    ),
}


@pytest.mark.parametrize(("to_payload", "to_statement"), EQUIVALENT.values(), ids=EQUIVALENT.keys())
def test_differences_the_spec_says_to_ignore_are_accepted(
    key: rsa.RSAPrivateKey, x5c: list[str], to_payload: Any, to_statement: Any
) -> None:
    statement = base_statement()
    token = jws(to_payload(statement), key, x5c=x5c)
    check_signed_statement(*with_signature(to_statement(statement), token))


@pytest.mark.parametrize("general", [False, True], ids=["flattened", "general"])
def test_jws_json_serialization_is_accepted(
    key: rsa.RSAPrivateKey, x5c: list[str], general: bool
) -> None:
    statement = base_statement()
    protected, payload, signature = jws(statement, key, x5c=x5c).decode().split(".")
    one = {"protected": protected, "signature": signature}
    document = {"payload": payload, **({"signatures": [one]} if general else one)}
    check_signed_statement(*with_signature(statement, orjson.dumps(document)))


def test_statement_without_signature_attachment_is_not_checked() -> None:
    other = {"usageType": "http://example.com/u", "contentType": "text/plain", "sha2": "ab"}
    check_signed_statement({**base_statement(), "attachments": [other]}, {})


# ---------------------------------------------------------------------------------------------
# Rejected signatures


def test_suite_bad_content_type_is_rejected(key: rsa.RSAPrivateKey) -> None:
    statement = base_statement()
    token = jws(statement, key)
    message = rejection(*with_signature(statement, token, "text/plain; charset=ascii"))
    assert message == (
        "signature attachment attachments[0]: contentType must be application/octet-stream, "
        "not 'text/plain; charset=ascii'"
    )


def test_part_typed_other_than_octet_stream_is_rejected(key: rsa.RSAPrivateKey) -> None:
    statement = base_statement()
    sent, parts = with_signature(statement, jws(statement, key))
    parts = {sha2: AttachmentPart(sha2, "text/plain", p.content) for sha2, p in parts.items()}
    assert "part Content-Type must be application/octet-stream" in rejection(sent, parts)


def test_suite_broken_json_payload_is_rejected(key: rsa.RSAPrivateKey) -> None:
    statement = base_statement()
    broken = orjson.dumps(statement).replace(b'"', b"'", 1)  # the suite's breakJson option
    message = rejection(*with_signature(statement, jws(broken, key)))
    assert "the JWS payload is not valid JSON" in message


def _signing_key(kind: str, rsa_key: rsa.RSAPrivateKey) -> Any:
    if kind == "hmac":
        return b"k" * 64  # the suite signs HS256 with its PEM text as the secret
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa_key if kind == "rsa" else None


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("HS256", "hmac"), ("PS256", "rsa"), ("ES256", "ec"), ("none", "none")],
)
def test_algorithms_other_than_rs256_384_512_are_rejected(
    key: rsa.RSAPrivateKey, algorithm: str, kind: str
) -> None:
    statement = base_statement()
    token = jws(statement, _signing_key(kind, key), algorithm)
    message = rejection(*with_signature(statement, token))
    assert f"JWS alg '{algorithm}' is not allowed; use RS256, RS384 or RS512" in message


def test_signature_by_another_key_is_rejected(x5c: list[str]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    statement = base_statement()
    message = rejection(*with_signature(statement, jws(statement, other, x5c=x5c)))
    assert "the JWS signature does not verify with the x5c certificate" in message


def test_payload_swapped_after_signing_is_rejected(key: rsa.RSAPrivateKey, x5c: list[str]) -> None:
    statement = base_statement()
    header, _, signature = jws(statement, key, x5c=x5c).split(b".")
    changed = {**statement, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    tampered = b".".join([header, jwt.utils.base64url_encode(orjson.dumps(changed)), signature])
    message = rejection(*with_signature(changed, tampered))
    assert "does not verify with the x5c certificate" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a jws", "the signature is not a valid JWS"),
        (b"abc.def", "the signature is not a valid JWS"),
        (b"!!!.e30.abc", "the signature is not a valid JWS"),
        (b"\xff\xfe binary", "not a JWS (it is not ASCII text)"),
        (b"{}", "the JWS JSON serialization needs protected, payload and signature"),
        (b"{not json", "neither a compact JWS nor JWS JSON"),
    ],
)
def test_malformed_jws_is_rejected(content: bytes, problem: str) -> None:
    assert problem in rejection(*with_signature(base_statement(), content))


@pytest.mark.parametrize(
    ("x5c", "problem"),
    [
        ("MIIB", "x5c must be a non-empty array of base64 certificates"),
        ([], "x5c must be a non-empty array of base64 certificates"),
        (["!!!not base64"], "x5c[0] is not a base64 DER X.509 certificate"),
        ([base64.b64encode(b"not DER").decode()], "x5c[0] is not a base64 DER X.509 certificate"),
    ],
)
def test_malformed_x5c_is_rejected(key: rsa.RSAPrivateKey, x5c: Any, problem: str) -> None:
    statement = base_statement()
    assert problem in rejection(*with_signature(statement, jws(statement, key, x5c=x5c)))


def test_payload_that_is_not_an_object_is_rejected(key: rsa.RSAPrivateKey) -> None:
    statement = base_statement()
    message = rejection(*with_signature(statement, jws([statement], key)))
    assert "the JWS payload is JSON but not a statement object" in message


NOT_EQUIVALENT = {
    "verb.id is": (
        lambda s: s,
        lambda s: {**s, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}},
    ),
    "id is": (lambda s: {**s, "id": str(uuid.uuid4())}, lambda s: s),
    "result is in the payload but not in the statement": (
        lambda s: {**s, "result": {"success": True}},
        lambda s: s,
    ),
    "actor.mbox is": (lambda s: {**s, "actor": {"mbox": "mailto:XAPI@adlnet.gov"}}, lambda s: s),
    "result.score.raw is": (
        lambda s: {**s, "result": {"score": {"raw": 1}}},
        lambda s: {**s, "result": {"score": {"raw": True}}},
    ),
    "context.contextActivities.parent has 2 items in the payload but 1 in the statement": (
        lambda s: {**s, "context": {"contextActivities": {"parent": [{"id": "a"}, {"id": "b"}]}}},
        lambda s: {**s, "context": {"contextActivities": {"parent": [{"id": "a"}]}}},
    ),
    "context.extensions.http://example.com/x.member[0] is": (
        lambda s: {**s, "context": {"extensions": {"http://example.com/x": {"member": [1, 2]}}}},
        lambda s: {**s, "context": {"extensions": {"http://example.com/x": {"member": [2, 1]}}}},
    ),
    "object.objectType is": (
        lambda s: {**s, "object": {"objectType": "StatementRef", "id": s["id"]}},
        lambda s: {**s, "object": {"objectType": "SubStatement", "id": s["id"]}},
    ),
    "result.duration is": (
        lambda s: {**s, "result": {"duration": "PT1H"}},
        lambda s: {**s, "result": {"duration": "PT60M"}},  # durations compare as strings
    ),
}


@pytest.mark.parametrize(
    ("problem", "changes"), NOT_EQUIVALENT.items(), ids=[k.split()[0] for k in NOT_EQUIVALENT]
)
def test_payload_differing_from_the_statement_is_rejected(
    key: rsa.RSAPrivateKey, x5c: list[str], problem: str, changes: tuple[Any, Any]
) -> None:
    to_payload, to_statement = changes
    statement = base_statement()
    token = jws(to_payload(statement), key, x5c=x5c)
    message = rejection(*with_signature(to_statement(statement), token))
    assert message.startswith(
        "signature attachment attachments[0]: the JWS payload does not match the statement: "
        + problem
    )


def test_signature_attachment_without_its_part_is_rejected(key: rsa.RSAPrivateKey) -> None:
    statement = base_statement()
    sent, _ = with_signature(statement, jws(statement, key))
    sha2 = sent["attachments"][0]["sha2"]
    assert f"no multipart/mixed part with X-Experience-API-Hash {sha2} holds the JWS" in rejection(
        sent, {}
    )


# ---------------------------------------------------------------------------------------------
# Statement comparison on its own


def test_statement_difference_names_the_first_differing_path() -> None:
    signed = {**base_statement(), "context": {"registration": "a", "language": "en"}}
    received = {**signed, "context": {"registration": "b", "language": "en"}}
    assert statement_difference(signed, received) == (
        'context.registration is "a" in the payload but "b" in the statement'
    )


def test_long_values_are_shortened_in_messages() -> None:
    signed = {**base_statement(), "result": {"response": "x" * 500}}
    received = {**signed, "result": {"response": "y" * 500}}
    difference = statement_difference(signed, received)
    assert difference is not None
    assert len(difference) < 250
