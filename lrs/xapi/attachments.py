"""Statement request bodies with attachments: multipart/mixed parsing, checking and building."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lrs.errors import BadRequest, invalid
from lrs.types import Statement

JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/mixed"
HASH_HEADER = "x-experience-api-hash"
ENCODING_HEADER = "content-transfer-encoding"

# RFC 2045 §5.1 parameter: token "=" (token | quoted-string).
_PARAM = re.compile(r';\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
# The blank line ending a part's headers; bare LF tolerated like the rest of the parser.
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# Hex digests of the SHA-2 family; Communication 1.5.2 says providers SHOULD use 256, 384 or 512.
_SHA2_BY_HEX_LENGTH = {56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}


@dataclass(frozen=True)
class AttachmentPart:
    """One attachment's raw data, as received in (or sent as) a multipart/mixed part."""

    sha2: str  # from the X-Experience-API-Hash header, verified against the content
    content_type: str  # the part's Content-Type header; "" when the part had none
    content: bytes


@dataclass(frozen=True)
class StatementRequest:
    """A PUT/POST statements body split into its statement JSON and attachment parts."""

    statement_body: bytes  # the JSON (the first part of a multipart body), still unparsed
    parts: dict[str, AttachmentPart]  # by sha2, exactly as written in X-Experience-API-Hash


@dataclass(frozen=True)
class _Part:
    headers: dict[str, str]  # lower-cased names
    content: bytes


# ---------------------------------------------------------------------------------------------
# Parsing a request


def parse_statement_request(body: bytes, content_type_header: str) -> StatementRequest:
    """Split a statements PUT/POST body by its Content-Type (Communication 1.5).

    Raises BadRequest (400: the conformance suite expects 400, never 415, for any other type).
    Every attachment part's content is checked against its X-Experience-API-Hash here.
    """
    media_type, params = parse_content_type(content_type_header)
    if not media_type:
        raise BadRequest(
            "statements need a Content-Type header: application/json or multipart/mixed "
            "(xAPI Communication 1.5)"
        )
    if media_type == JSON_TYPE:
        return StatementRequest(body, {})
    if media_type != MULTIPART_TYPE:
        raise BadRequest(
            f"Content-Type {content_type_header.strip()!r} is not accepted for statements: "
            "use application/json or multipart/mixed (xAPI Communication 1.5)"
        )
    boundary = params.get("boundary", "")
    if not boundary:
        raise BadRequest("multipart/mixed Content-Type header has no boundary parameter (RFC 2046)")
    parts = _split_multipart(body, boundary)
    return StatementRequest(_statement_part(parts[0]), _attachment_parts(parts[1:]))


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """The lower-cased media type and the parameters (names lower-cased, values unquoted)."""
    media_type, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        raw = match.group(2).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return media_type.strip().lower(), params


def _statement_part(part: _Part) -> bytes:
    """The first part holds the statements, typed application/json (Communication 1.5.2)."""
    media_type, _ = parse_content_type(part.headers.get("content-type", ""))
    if media_type != JSON_TYPE:
        found = part.headers.get("content-type", "no Content-Type header")
        raise BadRequest(
            f"the first multipart part must contain the statements with Content-Type "
            f"application/json, not {found!r} (xAPI Communication 1.5.2)"
        )
    return part.content


def _attachment_parts(parts: list[_Part]) -> dict[str, AttachmentPart]:
    """Each later part needs binary encoding and a hash matching its content (1.5.2)."""
    errors: list[str] = []
    found: dict[str, AttachmentPart] = {}
    for number, part in enumerate(parts, start=2):
        problem = _attachment_part_problem(part)
        if problem:
            errors.append(f"multipart part {number}: {problem}")
            continue
        sha2 = part.headers[HASH_HEADER]
        # The same data may be sent once for several attachments (SHOULD, 1.5.2); keep one copy.
        content_type = part.headers.get("content-type", "")
        found.setdefault(sha2, AttachmentPart(sha2, content_type, part.content))
    if errors:
        raise invalid(errors)
    return found


def _attachment_part_problem(part: _Part) -> str | None:
    """Why an attachment part breaks Communication 1.5.2, or None."""
    encoding = part.headers.get(ENCODING_HEADER)
    if encoding is None:
        return "missing the Content-Transfer-Encoding: binary header"
    if encoding.lower() != "binary":
        return f"Content-Transfer-Encoding must be 'binary', not {encoding!r}"
    sha2 = part.headers.get(HASH_HEADER, "")
    if not sha2:
        return "missing the X-Experience-API-Hash header"
    return _hash_problem(sha2, part.content)


def _hash_problem(sha2: str, content: bytes) -> str | None:
    """The LRS matches parts to attachments by the SHA-2 of the raw data only (1.5.2)."""
    algorithm = _SHA2_BY_HEX_LENGTH.get(len(sha2))
    if algorithm is None or not _is_hex(sha2):
        return f"X-Experience-API-Hash {sha2!r} is not a hex SHA-2 (SHA-256/384/512) digest"
    actual = hashlib.new(algorithm, content).hexdigest()
    if actual != sha2.lower():
        return f"X-Experience-API-Hash {sha2} does not match the content's {algorithm} {actual}"
    return None


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


# ---------------------------------------------------------------------------------------------
# RFC 2046 §5.1.1 body splitting


def _split_multipart(body: bytes, boundary: str) -> list[_Part]:
    """The body parts between the first delimiter and the close delimiter."""
    spans = _part_spans(body, ("--" + boundary).encode("latin-1"))
    return [_read_part(body, start, end, number) for number, (start, end) in enumerate(spans, 1)]


def _part_spans(body: bytes, dash_boundary: bytes) -> list[tuple[int, int]]:
    """(start, end) of each part's bytes; one find() pass, so large bodies stay linear."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    pos = 0
    while (at := body.find(dash_boundary, pos)) >= 0:
        delimiter = _delimiter_at(body, at, len(dash_boundary))
        if delimiter is None:
            pos = at + len(dash_boundary)
            continue
        line_end, closing = delimiter
        if start is not None:
            spans.append((start, _before_newline(body, at)))
        if closing and spans:
            return spans
        if closing:
            raise BadRequest("multipart/mixed body closes before its first (statements) part")
        start = pos = line_end
    where = "is not closed by" if start is not None else "never contains"
    raise BadRequest(
        f"multipart/mixed body {where} the boundary line {dash_boundary.decode('latin-1')!r} "
        "declared in the Content-Type header (RFC 2046)"
    )


def _delimiter_at(body: bytes, at: int, length: int) -> tuple[int, bool] | None:
    """(end of line, is close delimiter) if the match at `at` is a delimiter line.

    A delimiter starts a line and holds only padding after it (RFC 2046 §5.1.1); a bare LF
    is accepted as a line break so LF-only clients still work.
    """
    if at > 0 and body[at - 1] != 0x0A:
        return None
    after = at + length
    closing = body.startswith(b"--", after)
    line_end = _delimiter_line_end(body, after + 2 if closing else after)
    return None if line_end is None else (line_end, closing)


def _delimiter_line_end(body: bytes, index: int) -> int | None:
    """Index after the delimiter line's transport padding and newline, or None if not one."""
    while body[index : index + 1] in (b" ", b"\t"):
        index += 1
    if body.startswith(b"\r\n", index):
        return index + 2
    if body.startswith(b"\n", index):
        return index + 1
    return index if index == len(body) else None


def _before_newline(body: bytes, at: int) -> int:
    """The newline before a delimiter belongs to the delimiter, not to the content (§5.1.1)."""
    if body[at - 2 : at] == b"\r\n":
        return at - 2
    return at - 1


def _read_part(body: bytes, start: int, end: int, number: int) -> _Part:
    """Headers up to the first blank line, content after it (RFC 2046 body-part)."""
    end = max(start, end)  # two delimiters back to back leave an empty part
    for newline in (b"\r\n", b"\n"):
        if body.startswith(newline, start, end):  # no headers: the part opens with the blank line
            return _Part({}, body[start + len(newline) : end])
    blank = _BLANK_LINE.search(body, start, end)
    head_end, content_start = (blank.start(), blank.end()) if blank else (end, end)
    return _Part(_read_headers(body[start:head_end], number), body[content_start:end])


_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _read_headers(head: bytes, number: int) -> dict[str, str]:
    """Case-insensitive header fields (RFC 5322 §2.2), folded lines unfolded."""
    headers: dict[str, str] = {}
    name = ""
    for raw in head.decode("latin-1").split("\n"):
        line = raw.rstrip("\r")
        if _HEADER_CONTROL.search(line):
            raise BadRequest(f"multipart part {number} has a control character in a header line")
        if line[:1] in (" ", "\t") and name:
            headers[name] += " " + line.strip()
            continue
        field, colon, value = line.partition(":")
        if not colon or not field.strip():
            raise BadRequest(f"multipart part {number} has a malformed header line {line!r}")
        name = field.strip().lower()
        headers[name] = value.strip()
    return headers


# ---------------------------------------------------------------------------------------------
# Matching attachments to parts


def iter_attachments(statement: Statement) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, attachment) for the statement's attachments and its SubStatement's (Data 2.4.11)."""
    yield from _attachments_at(statement, "attachments")
    sub = statement.get("object")
    if isinstance(sub, dict) and sub.get("objectType") == "SubStatement":
        yield from _attachments_at(sub, "object.attachments")


def _attachments_at(holder: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    attachments = holder.get("attachments")
    if not isinstance(attachments, list):
        return
    for index, attachment in enumerate(attachments):
        if isinstance(attachment, dict):
            yield f"{path}[{index}]", attachment


def check_attachments(statements: list[Statement], parts: dict[str, AttachmentPart]) -> None:
    """Every attachment has a fileUrl or a part, and every part belongs to an attachment.

    Communication 1.5.1 (application/json needs fileUrl everywhere) and 1.5.2 (reject
    attachments with neither fileUrl nor a part matching their sha2; the conformance suite
    also rejects parts no attachment refers to, XAPI-00128). `parts` come from
    parse_statement_request, whose content hashes are already verified.
    """
    errors: list[str] = []
    referenced: set[str] = set()
    for number, statement in enumerate(statements):
        for path, attachment in iter_attachments(statement):
            sha2 = attachment.get("sha2")
            if isinstance(sha2, str):
                referenced.add(sha2)
            if "fileUrl" not in attachment and not (isinstance(sha2, str) and sha2 in parts):
                errors.append(
                    f"statements[{number}].{path} has no fileUrl and the request has no "
                    f"multipart/mixed part with X-Experience-API-Hash {sha2}"
                )
    for sha2 in parts:
        if sha2 not in referenced:
            errors.append(
                f"multipart part with X-Experience-API-Hash {sha2} is not the sha2 of any "
                "attachment in the statements"
            )
    if errors:
        raise invalid(errors)


# ---------------------------------------------------------------------------------------------
# Building a response


def build_multipart(statements_json: bytes, parts: list[AttachmentPart]) -> tuple[bytes, str]:
    """The GET ?attachments=true body and its Content-Type (Communication 1.5.2, 2.1.3).

    The boundary is plain hex and left unquoted: the conformance suite reads it with
    `split(";")[1].replace(" boundary=", "")` and splits the body with it as a regex.
    """
    unique = list({part.sha2: part for part in parts}.values())  # one copy per hash (1.5.2)
    boundary = _fresh_boundary([statements_json, *(part.content for part in unique)])
    delimiter = b"--" + boundary.encode("ascii")
    chunks = [delimiter, b"\r\nContent-Type: application/json\r\n\r\n", statements_json, b"\r\n"]
    for part in unique:
        chunks += [delimiter, b"\r\n", _part_head(part), b"\r\n", part.content, b"\r\n"]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks), f"{MULTIPART_TYPE}; boundary={boundary}"


def _fresh_boundary(contents: list[bytes]) -> str:
    """A random boundary no content contains (RFC 2046 §5.1.1 requires that)."""
    while True:
        boundary = uuid.uuid4().hex
        if not any(boundary.encode("ascii") in content for content in contents):
            return boundary


def _part_head(part: AttachmentPart) -> bytes:
    content_type = " ".join(part.content_type.split()) or "application/octet-stream"
    return (
        f"Content-Type: {content_type}\r\n"
        "Content-Transfer-Encoding: binary\r\n"
        f"X-Experience-API-Hash: {part.sha2}\r\n"
    ).encode("latin-1", errors="replace")
