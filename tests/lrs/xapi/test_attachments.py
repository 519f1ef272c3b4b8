"""Statement request bodies with attachments: what is accepted, rejected and built."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest

from lrs.errors import BadRequest
from lrs.types import Statement
from lrs.xapi.attachments import (
    AttachmentPart,
    StatementRequest,
    build_multipart,
    check_attachments,
    iter_attachments,
    parse_statement_request,
)

BOUNDARY = "-------314159265358979323846"  # the conformance suite's boundary
TEXT1 = b"here is a simple attachment"
TEXT2 = b"here is another simple attachment"
TEXT3 = b"here is a third attachment"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def attachment(content: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": len(content),
        "sha2": sha256(content),
        **extra,
    }


def statement(*attachments: dict[str, Any]) -> Statement:
    return {
        "actor": {"objectType": "Agent", "mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": "http://www.example.com/meetings/occurances/34534"},
        "attachments": list(attachments),
    }


def json_part(document: Any) -> tuple[list[str], bytes]:
    return ["Content-Type: application/json"], orjson.dumps(document)


def data_part(content: bytes, sha2: str | None = None, **headers: str) -> tuple[list[str], bytes]:
    fields = {
        "Content-Type": "text/plain",
        "Content-Transfer-Encoding": "binary",
        "X-Experience-API-Hash": sha2 or sha256(content),
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    return [f"{name}: {value}" for name, value in fields.items() if value], content


def multipart(
    parts: list[tuple[list[str], bytes]],
    boundary: str = BOUNDARY,
    newline: bytes = b"\r\n",
    preamble: bytes = b"",
    epilogue: bytes = b"\r\n",
) -> bytes:
    """A multipart body the way clients (and the conformance suite) write one."""
    dash = b"--" + boundary.encode()
    chunks = [preamble]
    for headers, content in parts:
        head = newline.join(h.encode() for h in headers)
        chunks += [dash, newline, head, newline, newline, content, newline]
    chunks += [dash, b"--", epilogue]
    return b"".join(chunks)


def mixed(boundary: str = BOUNDARY) -> str:
    return f"multipart/mixed; boundary={boundary}"


def post(body: bytes, content_type: str) -> list[Statement]:
    """What the HTTP layer does with a statements POST body, up to storage."""
    request = parse_statement_request(body, content_type)
    try:
        parsed = orjson.loads(request.statement_body)
    except orjson.JSONDecodeError:
        raise BadRequest("statements are not valid JSON") from None
    statements = parsed if isinstance(parsed, list) else [parsed]
    check_attachments(statements, request.parts)
    return statements


def rejected(body: bytes, content_type: str) -> str:
    with pytest.raises(BadRequest) as caught:
        post(body, content_type)
    return caught.value.message


# ---------------------------------------------------------------------------------------------
# Content types


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_body_is_the_statements_with_no_parts(content_type: str) -> None:
    body = orjson.dumps(statement())
    assert parse_statement_request(body, content_type) == StatementRequest(body, {})


@pytest.mark.parametrize(
    "content_type",
    [
        f"multipart/form-data; boundary={BOUNDARY}",  # suite XAPI-00127 expects 400
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
    ],
)
def test_other_content_types_are_rejected(content_type: str) -> None:
    body = multipart([json_part(statement())])
    with pytest.raises(BadRequest) as caught:
        parse_statement_request(body, content_type)
    assert caught.value.status == 400
    assert "application/json or multipart/mixed" in caught.value.message


@pytest.mark.parametrize(
    "content_type", ["multipart/mixed", "multipart/mixed;", "multipart/mixed; boundary="]
)
def test_multipart_without_boundary_parameter_is_rejected(content_type: str) -> None:
    message = rejected(multipart([json_part(statement())]), content_type)
    assert "no boundary parameter" in message


# ---------------------------------------------------------------------------------------------
# Accepted multipart bodies


def test_suite_style_body_yields_statement_and_verified_part() -> None:
    sent = statement(attachment(TEXT1))
    request = parse_statement_request(multipart([json_part(sent), data_part(TEXT1)]), mixed())
    assert orjson.loads(request.statement_body) == sent
    assert request.parts == {sha256(TEXT1): AttachmentPart(sha256(TEXT1), "text/plain", TEXT1)}


@pytest.mark.parametrize(
    ("newline", "preamble", "epilogue"),
    [
        (b"\r\n", b"", b"\r\n"),
        (b"\r\n", b"", b""),  # no line break after the close delimiter
        (b"\r\n", b"\r\n", b""),  # the suite's signed-statement bodies start with CRLF
        (b"\r\n", b"This is a preamble.\r\n", b"\r\nepilogue text\r\n"),
        (b"\n", b"", b"\n"),  # bare LF line breaks
    ],
    ids=["crlf", "no-epilogue", "leading-crlf", "preamble-epilogue", "lf"],
)
def test_line_break_styles_and_framing(newline: bytes, preamble: bytes, epilogue: bytes) -> None:
    body = multipart(
        [json_part(statement(attachment(TEXT1))), data_part(TEXT1)],
        newline=newline,
        preamble=preamble,
        epilogue=epilogue,
    )
    request = parse_statement_request(body, mixed())
    assert request.parts[sha256(TEXT1)].content == TEXT1


@pytest.mark.parametrize(
    "header",
    [
        'multipart/mixed; boundary="abcABC0123\'()+_,-./:=?"',  # the spec example's boundary
        'Multipart/Mixed;Boundary="abcABC0123\'()+_,-./:=?"',
        'multipart/mixed; charset=utf-8; boundary="abcABC0123\'()+_,-./:=?"; x=y',
    ],
)
def test_quoted_boundary_with_special_characters(header: str) -> None:
    body = multipart([json_part(statement())], boundary="abcABC0123'()+_,-./:=?")
    assert orjson.loads(parse_statement_request(body, header).statement_body) == statement()


def test_header_names_are_case_insensitive_and_spacing_free() -> None:
    parts = [
        (["content-type:application/json; charset=UTF-8"], orjson.dumps(statement())),
        (
            [
                "CONTENT-TYPE:text/plain",
                "content-transfer-encoding:BINARY",
                "x-experience-api-hash:" + sha256(TEXT1),
            ],
            TEXT1,
        ),
    ]
    request = parse_statement_request(multipart(parts), mixed())
    assert request.parts[sha256(TEXT1)].content_type == "text/plain"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\r\n",
        b"ends with a line break\r\n",
        b"\r\n--" + BOUNDARY.encode() + b"x not a delimiter: the line goes on",
        b"--" + BOUNDARY.encode() + b" inline " + b"\n-- almost",
        bytes(range(256)) * 64,
    ],
    ids=["empty", "crlf-only", "trailing-crlf", "boundary-prefix", "inline-boundary", "binary"],
)
def test_content_bytes_survive_exactly(content: bytes) -> None:
    body = multipart([json_part(statement(attachment(content))), data_part(content)])
    assert post(body, mixed())
    assert parse_statement_request(body, mixed()).parts[sha256(content)].content == content


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_sha2_family_hashes_are_verified(algorithm: str) -> None:
    digest = hashlib.new(algorithm, TEXT1).hexdigest()
    body = multipart(
        [json_part(statement(attachment(TEXT1, sha2=digest))), data_part(TEXT1, sha2=digest)]
    )
    assert list(parse_statement_request(body, mixed()).parts) == [digest]
    assert post(body, mixed())


def test_upper_case_hex_hash_is_verified_and_kept_as_sent() -> None:
    digest = sha256(TEXT1).upper()
    body = multipart(
        [json_part(statement(attachment(TEXT1, sha2=digest))), data_part(TEXT1, sha2=digest)]
    )
    assert list(parse_statement_request(body, mixed()).parts) == [digest]


def test_one_copy_of_data_shared_by_two_statements() -> None:
    shared = attachment(TEXT1)
    body = multipart([json_part([statement(shared), statement(shared)]), data_part(TEXT1)])
    assert len(post(body, mixed())) == 2


def test_large_attachment_is_parsed_whole() -> None:
    # Many near-miss delimiters: line starts with "--" and the boundary without line start.
    chunk = b"\r\n--not-the-boundary " + BOUNDARY.encode() + b" " + bytes(range(200))
    content = chunk * (8 * 1024 * 1024 // len(chunk))
    body = multipart([json_part(statement(attachment(content))), data_part(content)])
    assert parse_statement_request(body, mixed()).parts[sha256(content)].content == content


# ---------------------------------------------------------------------------------------------
# Rejected multipart bodies


def _text1_statement() -> tuple[list[str], bytes]:
    return json_part(statement(attachment(TEXT1)))


@pytest.mark.parametrize(
    ("parts", "problem"),
    [
        (
            [(["Content-Type: text/plain"], orjson.dumps(statement())), data_part(TEXT1)],
            "first multipart part must contain the statements with Content-Type application/json",
        ),
        (
            [([], orjson.dumps(statement()))],
            "not 'no Content-Type header'",
        ),
        (
            [_text1_statement(), data_part(TEXT1, Content_Transfer_Encoding="")],
            "part 2: missing the Content-Transfer-Encoding: binary header",
        ),
        (
            [_text1_statement(), data_part(TEXT1, Content_Transfer_Encoding="base64")],
            "part 2: Content-Transfer-Encoding must be 'binary', not 'base64'",
        ),
        (
            [_text1_statement(), data_part(TEXT1, X_Experience_API_Hash="")],
            "part 2: missing the X-Experience-API-Hash header",
        ),
        (
            [_text1_statement(), data_part(TEXT1, sha2=sha256(TEXT2))],
            f"part 2: X-Experience-API-Hash {sha256(TEXT2)} does not match the content's sha256",
        ),
        (
            [_text1_statement(), data_part(TEXT1, sha2="not-a-hash")],
            "X-Experience-API-Hash 'not-a-hash' is not a hex SHA-2",
        ),
        (
            [_text1_statement(), (["Content-Type: text/plain", "no colon here"], TEXT1)],
            "part 2 has a malformed header line 'no colon here'",
        ),
    ],
    ids=[
        "first-part-text",
        "first-part-untyped",
        "no-encoding",
        "base64-encoding",
        "no-hash",
        "hash-mismatch",
        "hash-not-hex",
        "bad-header",
    ],
)
def test_malformed_parts_are_rejected(parts: list[tuple[list[str], bytes]], problem: str) -> None:
    assert problem in rejected(multipart(parts), mixed())


def test_every_bad_part_is_listed() -> None:
    parts = [
        json_part(statement(attachment(TEXT1), attachment(TEXT2))),
        data_part(TEXT1, Content_Transfer_Encoding="base64"),
        data_part(TEXT2, X_Experience_API_Hash=""),
    ]
    with pytest.raises(BadRequest) as caught:
        parse_statement_request(multipart(parts), mixed())
    assert len(caught.value.errors) == 2
    assert "part 2" in caught.value.errors[0]
    assert "part 3" in caught.value.errors[1]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (orjson.dumps(statement()), "never contains the boundary line"),
        (
            multipart([json_part(statement())], boundary="another-boundary"),
            f"never contains the boundary line '--{BOUNDARY}'",
        ),
        (
            multipart([json_part(statement())])[: -len(BOUNDARY) - 6],  # truncated upload
            "is not closed by the boundary line",
        ),
        (b"--" + BOUNDARY.encode() + b"--\r\n", "closes before its first (statements) part"),
    ],
    ids=["json-body", "other-boundary", "unclosed", "no-parts"],
)
def test_bodies_not_framed_by_the_boundary_are_rejected(body: bytes, problem: str) -> None:
    assert problem in rejected(body, mixed())


# ---------------------------------------------------------------------------------------------
# Matching attachments and parts


def parts_for(*contents: bytes) -> dict[str, AttachmentPart]:
    return {sha256(c): AttachmentPart(sha256(c), "text/plain", c) for c in contents}


@pytest.mark.parametrize(
    ("statements", "parts"),
    [
        ([statement()], {}),
        ([statement(attachment(TEXT1, fileUrl="http://over.there.com/file.txt"))], {}),
        ([statement(attachment(TEXT1))], parts_for(TEXT1)),
        # fileUrl and the data too (suite XAPI-00161 then GETs the data back).
        (
            [statement(attachment(TEXT1, fileUrl="http://over.there.com/file.txt"))],
            parts_for(TEXT1),
        ),
        ([statement(attachment(TEXT1)), statement(attachment(TEXT2))], parts_for(TEXT1, TEXT2)),
        (
            [
                {
                    **statement(),
                    "object": {"objectType": "SubStatement", **statement(attachment(TEXT1))},
                }
            ],
            parts_for(TEXT1),
        ),
    ],
    ids=["none", "file-url", "part", "file-url-and-part", "two-statements", "substatement"],
)
def test_attachments_with_data_or_file_url_are_accepted(
    statements: list[Statement], parts: dict[str, AttachmentPart]
) -> None:
    check_attachments(statements, parts)


def test_attachment_without_file_url_or_data_is_rejected() -> None:
    with pytest.raises(BadRequest) as caught:
        check_attachments([statement(attachment(TEXT1), attachment(TEXT2))], parts_for(TEXT1))
    assert caught.value.errors == [
        "statements[0].attachments[1] has no fileUrl and the request has no multipart/mixed "
        f"part with X-Experience-API-Hash {sha256(TEXT2)}"
    ]


def test_substatement_attachment_needs_data_too() -> None:
    sub = {"objectType": "SubStatement", **statement(attachment(TEXT1))}
    with pytest.raises(BadRequest) as caught:
        check_attachments([{**statement(), "object": sub}], {})
    assert "statements[0].object.attachments[0] has no fileUrl" in caught.value.message


def test_part_no_attachment_refers_to_is_rejected() -> None:
    with pytest.raises(BadRequest) as caught:
        check_attachments([statement(attachment(TEXT1))], parts_for(TEXT1, TEXT3))
    assert caught.value.message == (
        f"multipart part with X-Experience-API-Hash {sha256(TEXT3)} is not the sha2 of any "
        "attachment in the statements"
    )


def test_iter_attachments_names_where_each_attachment_is() -> None:
    sub = {"objectType": "SubStatement", **statement(attachment(TEXT2))}
    found = list(iter_attachments({**statement(attachment(TEXT1)), "object": sub}))
    assert [path for path, _ in found] == ["attachments[0]", "object.attachments[0]"]


# ---------------------------------------------------------------------------------------------
# The conformance suite's own request bodies (H.Communication1.5 / v2_0 4.1.3)


def suite_body(*sections: str) -> bytes:
    """Joins the suite's `msg +=` pieces: it builds bodies as strings with CRLF."""
    return "".join(sections).encode()


def suite_data(content: bytes, sha2: str, encoding: str = "binary") -> str:
    return (
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: {encoding}\r\n"
        f"X-Experience-API-Hash: {sha2}\r\n\r\n{content.decode()}\r\n"
    )


def suite_statement(*contents: bytes) -> str:
    sent = statement(*(attachment(c) for c in contents))
    return (
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(sent).decode()}\r\n"
    )


END = f"--{BOUNDARY}--\r\n"


def _picture_case() -> bytes:
    # The suite sends a JPEG as its hex text and hashes that text: the length is the file's.
    hex_text = bytes(range(256)).hex().encode()
    sent = statement(attachment(hex_text, contentType="image/jpeg", length=256))
    return suite_body(
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(sent).decode()}\r\n",
        suite_data(hex_text, sha256(hex_text)).replace("text/plain", "image/jpeg"),
        END,
    )


def _json_only_case() -> bytes:
    sent = statement(attachment(TEXT1, fileUrl="http://over.there.com/file.txt"))
    return suite_body(
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{orjson.dumps(sent).decode()}\r\n",
        END,
    )


SUITE_ACCEPTED = {
    "raw data as multipart/mixed (XAPI-00127)": _picture_case(),
    "fileUrl only as multipart/mixed": _json_only_case(),
    "two attachments (XAPI-00167)": suite_body(
        suite_statement(TEXT1, TEXT2),
        suite_data(TEXT1, sha256(TEXT1)),
        suite_data(TEXT2, sha256(TEXT2)),
        END,
    ),
}

SUITE_REJECTED = {  # name: (body, what the 400 names)
    "excess part (XAPI-00128)": (
        suite_body(
            suite_statement(TEXT1, TEXT2),
            suite_data(TEXT1, sha256(TEXT1)),
            suite_data(TEXT2, sha256(TEXT2)),
            suite_data(TEXT3, sha256(TEXT3)),
            END,
        ),
        f"X-Experience-API-Hash {sha256(TEXT3)} is not the sha2 of any attachment",
    ),
    "missing part (XAPI-00129)": (
        suite_body(suite_statement(TEXT1, TEXT2), suite_data(TEXT1, sha256(TEXT1)), END),
        "statements[0].attachments[1] has no fileUrl",
    ),
    "no boundary before the statements (XAPI-00131)": (
        suite_body(
            suite_statement(TEXT1).split("\r\n", 1)[1], suite_data(TEXT1, sha256(TEXT1)), END
        ),
        "first multipart part must contain the statements",
    ),
    # The data's headers become part of the JSON part, so the JSON parse (HTTP layer) fails.
    "no boundary before the data (XAPI-00130)": (
        suite_body(
            suite_statement(TEXT1), suite_data(TEXT1, sha256(TEXT1)).split("\r\n", 1)[1], END
        ),
        "statements are not valid JSON",
    ),
    "first part not JSON (XAPI-00134)": (
        suite_body(
            suite_statement(TEXT1).replace("application/json", "text/plain"),
            suite_data(TEXT1, sha256(TEXT1)),
            END,
        ),
        "with Content-Type application/json, not 'text/plain'",
    ),
    "statements in two parts (XAPI-00133)": (
        suite_body(
            suite_statement(TEXT1), suite_statement(TEXT1), suite_data(TEXT1, sha256(TEXT1)), END
        ),
        "part 2: missing the Content-Transfer-Encoding: binary header",
    ),
    "no hash header (XAPI-00132)": (
        suite_body(
            suite_statement(TEXT1),
            re.sub(r"X-Experience-API-Hash: \w+\r\n", "", suite_data(TEXT1, sha256(TEXT1))),
            END,
        ),
        "part 2: missing the X-Experience-API-Hash header",
    ),
    "hash not the sha2 (XAPI-00132)": (
        suite_body(
            suite_statement(TEXT1),
            suite_data(TEXT1, "b018994f8bbe0f08992a65c48c8c8c56f09e9baceaa6227ed85c90ae52b73c89"),
            END,
        ),
        "X-Experience-API-Hash b018994f8bbe0f08992a65c48c8c8c56f09e9baceaa6227ed85c90ae52b73c89 "
        "does not match the content's sha256",
    ),
    "base64 encoding (XAPI-00135)": (
        suite_body(
            suite_statement(TEXT1), suite_data(TEXT1, sha256(TEXT1), encoding="base64"), END
        ),
        "Content-Transfer-Encoding must be 'binary', not 'base64'",
    ),
}


@pytest.mark.parametrize("body", SUITE_ACCEPTED.values(), ids=SUITE_ACCEPTED.keys())
def test_suite_bodies_it_expects_200_for(body: bytes) -> None:
    assert post(body, mixed())


@pytest.mark.parametrize(("body", "problem"), SUITE_REJECTED.values(), ids=SUITE_REJECTED.keys())
def test_suite_bodies_it_expects_400_for(body: bytes, problem: str) -> None:
    assert problem in rejected(body, mixed())


def test_suite_body_without_boundary_in_header_is_rejected() -> None:
    body = suite_body(suite_statement(TEXT1), suite_data(TEXT1, sha256(TEXT1)), END)
    assert "no boundary parameter" in rejected(body, "multipart/mixed;")


def test_application_json_attachment_without_file_url_is_rejected() -> None:
    body = orjson.dumps(statement(attachment(TEXT1)))
    assert "has no fileUrl" in rejected(body, "application/json")


# ---------------------------------------------------------------------------------------------
# Building the GET ?attachments=true response


def test_build_then_parse_round_trips() -> None:
    statements_json = orjson.dumps({"statements": [statement(attachment(TEXT1))], "more": ""})
    parts = [AttachmentPart(sha256(TEXT1), "text/plain", TEXT1)]
    body, content_type = build_multipart(statements_json, parts)
    assert parse_statement_request(body, content_type) == StatementRequest(
        statements_json, {p.sha2: p for p in parts}
    )


def test_built_content_type_is_what_the_suite_splits_on() -> None:
    body, content_type = build_multipart(b"{}", [])
    media_type, boundary_param = content_type.split(";")
    assert media_type == "multipart/mixed"
    boundary = boundary_param.replace(" boundary=", "")  # v2_0 4.1.6.1 reads it this way
    assert re.fullmatch(r"[0-9a-f]{32}", boundary)
    assert (
        body
        == (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n--{boundary}--\r\n"
        ).encode()
    )


def test_built_body_matches_the_suite_parser_layout() -> None:
    """test/multipartParser.js: CRLF after the boundary, JSON ends before CRLF--boundary."""
    sent = statement(attachment(TEXT1), attachment(TEXT2))
    statements_json = orjson.dumps(sent)
    parts = [AttachmentPart(sha256(c), "text/plain", c) for c in (TEXT1, TEXT2, TEXT1)]
    body, content_type = build_multipart(statements_json, parts)
    boundary = content_type.split("boundary=")[1]
    sections = re.split(b"--*" + boundary.encode(), body)
    assert sections[0] == b""
    assert sections[1] == b"\r\nContent-Type: application/json\r\n\r\n" + statements_json + b"\r\n"
    assert sections[2].endswith(b"\r\n\r\n" + TEXT1 + b"\r\n")
    assert sections[-1] == b"--\r\n"
    # XAPI-00167: each hash appears twice, in the statement and once as a part header.
    assert len(sections) == 5  # preamble, JSON, two unique parts, close
    assert body.count(sha256(TEXT1).encode()) == 2
    assert body.count(sha256(TEXT2).encode()) == 2


def test_built_part_without_content_type_is_octet_stream() -> None:
    body, content_type = build_multipart(b"[]", [AttachmentPart(sha256(TEXT1), "", TEXT1)])
    assert b"\r\nContent-Type: application/octet-stream\r\n" in body
    part = parse_statement_request(body, content_type).parts[sha256(TEXT1)]
    assert part.content_type == "application/octet-stream"


def test_built_boundary_never_occurs_in_the_content() -> None:
    body, content_type = build_multipart(
        b"[]", [AttachmentPart(sha256(TEXT1), "text/plain", TEXT1)]
    )
    boundary = content_type.split("boundary=")[1].encode()
    assert body.count(boundary) == 3
