"""Signed statements (xAPI Data 2.6): check a statement's JWS signature attachment."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from lrs.errors import BadRequest
from lrs.types import Statement
from lrs.xapi.attachments import AttachmentPart, parse_content_type
from lrs.xapi.compare import statement_difference

SIGNATURE_USAGE_TYPE = "http://adlnet.gov/expapi/attachments/signature"
SIGNATURE_CONTENT_TYPE = "application/octet-stream"
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512")  # Data 2.6 Signature Requirements


def check_signed_statement(statement: Statement, parts: dict[str, AttachmentPart]) -> None:
    """Reject (400) a statement whose signature attachment is malformed (Data 2.6).

    `statement` is the statement as the client sent it, before the LRS assigns anything.
    Statements without a signature attachment pass untouched.
    """
    for index, attachment in _signature_attachments(statement):
        where = f"signature attachment attachments[{index}]"
        try:
            _check_signature(statement, attachment, parts)
        except BadRequest as error:
            raise BadRequest(f"{where}: {error.message}") from None


def _signature_attachments(statement: Statement) -> list[tuple[int, dict[str, Any]]]:
    attachments = statement.get("attachments")
    if not isinstance(attachments, list):
        return []
    return [
        (index, attachment)
        for index, attachment in enumerate(attachments)
        if isinstance(attachment, dict) and attachment.get("usageType") == SIGNATURE_USAGE_TYPE
    ]


def _check_signature(
    statement: Statement, attachment: dict[str, Any], parts: dict[str, AttachmentPart]
) -> None:
    """The LRS steps of Data 2.6: decode, compare payload, verify x5c, check requirements."""
    _require_octet_stream("contentType", attachment.get("contentType"))
    part = parts.get(str(attachment.get("sha2")))
    if part is None:
        raise BadRequest(
            f"no multipart/mixed part with X-Experience-API-Hash {attachment.get('sha2')} "
            "holds the JWS"
        )
    if part.content_type:
        _require_octet_stream("part Content-Type", part.content_type)
    signed = _signed_statement(_verified_payload(_compact_jws(part.content)))
    difference = statement_difference(signed, statement)
    if difference is not None:
        raise BadRequest(f"the JWS payload does not match the statement: {difference}")


def _require_octet_stream(what: str, value: Any) -> None:
    """The signature is an attachment of type application/octet-stream (Data 2.6)."""
    media_type = parse_content_type(value)[0] if isinstance(value, str) else ""
    if media_type != SIGNATURE_CONTENT_TYPE:
        raise BadRequest(f"{what} must be {SIGNATURE_CONTENT_TYPE}, not {value!r}")


# ---------------------------------------------------------------------------------------------
# Decoding and verifying the JWS


def _compact_jws(content: bytes) -> str:
    """The JWS in compact form; JSON serialization is discouraged but allowed (Data 2.6)."""
    try:
        text = content.decode("ascii").strip()
    except UnicodeDecodeError:
        raise BadRequest("the signature part is not a JWS (it is not ASCII text)") from None
    return _compact_from_json(text) if text.startswith("{") else text


def _compact_from_json(text: str) -> str:
    """protected.payload.signature of a flattened or general JWS JSON serialization (RFC 7515 §7.2).

    Only the first signature and its protected header are used.
    """
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest("the signature part is neither a compact JWS nor JWS JSON") from None
    signatures = document.get("signatures") if isinstance(document, dict) else None
    signature = signatures[0] if isinstance(signatures, list) and signatures else document
    protected, payload, sig = (
        _field(signature, "protected"),
        _field(document, "payload"),
        _field(signature, "signature"),
    )
    if protected is None or payload is None or sig is None:
        raise BadRequest("the JWS JSON serialization needs protected, payload and signature")
    return f"{protected}.{payload}.{sig}"


def _field(holder: Any, name: str) -> str | None:
    value = holder.get(name) if isinstance(holder, dict) else None
    return value if isinstance(value, str) else None


def _verified_payload(token: str) -> bytes:
    """The payload bytes, after checking alg and, given x5c, the signature (Data 2.6)."""
    try:
        header = jwt.api_jws.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise BadRequest(f"the signature is not a valid JWS: {error}") from None
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise BadRequest(f"JWS alg {algorithm!r} is not allowed; use RS256, RS384 or RS512")
    key = _x5c_key(header)
    try:
        if key is None:
            # Without a certificate there is nothing to verify against; the payload still counts.
            decoded = jwt.api_jws.decode_complete(token, options={"verify_signature": False})
        else:
            decoded = jwt.api_jws.decode_complete(token, key, algorithms=[algorithm])
    except jwt.InvalidSignatureError:
        raise BadRequest("the JWS signature does not verify with the x5c certificate") from None
    except jwt.PyJWTError as error:
        raise BadRequest(f"the signature is not a valid JWS: {error}") from None
    payload: bytes = decoded["payload"]
    return payload


def _x5c_key(header: dict[str, Any]) -> RSAPublicKey | None:
    """The public key of the signer's certificate, the first in x5c (RFC 7515 §4.1.6)."""
    if "x5c" not in header:
        return None
    chain = header["x5c"]
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise BadRequest("JWS header x5c must be a non-empty array of base64 certificates")
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError):
        raise BadRequest("JWS header x5c[0] is not a base64 DER X.509 certificate") from None
    key = certificate.public_key()
    if not isinstance(key, RSAPublicKey):
        raise BadRequest("the x5c certificate's key is not RSA, so it cannot check an RS* alg")
    return key


def _signed_statement(payload: bytes) -> Statement:
    """The payload must be a JSON serialization of the statement (Data 2.6)."""
    try:
        signed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadRequest("the JWS payload is not valid JSON (it must be the statement)") from None
    if not isinstance(signed, dict):
        raise BadRequest("the JWS payload is JSON but not a statement object")
    return signed
