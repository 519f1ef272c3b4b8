"""Scalar xAPI formats (IRI, UUID, mailto, language tag, timestamp, duration) and shared helpers."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeGuard, TypeVar

import orjson

# A checker validates one JSON value found at `path`, appending messages to `errs`.
# `v2` is True when the request speaks xAPI 2.0.x. Keeping one signature lets the
# property tables below dispatch with a single dict lookup per key.
Checker = Callable[[object, str, list[str], bool], None]

# --- Regular expressions (compiled once; the validator runs for every statement) ---

# Data 4.4: UUIDs MUST be in the standard string form (8-4-4-4-12 hex digits).
# Variant 2 is only *recommended*, so other variants are not rejected.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")

# Data 2.2 / 4.3: best-effort IRI check (allowed by Data 2.2 "MAY use best-effort
# validation"). An IRI MUST have a scheme (RFC 3987: ALPHA *(ALPHA/DIGIT/+/-/.) ":")
# and a non-empty remainder without whitespace, controls or characters RFC 3987
# never allows unescaped.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+\Z")

# Data 2.4.2.3: mbox is "mailto:email address"; best-effort address shape.
_MBOX = re.compile(
    r"mailto:[^@\s<>\"(),:;\[\]\\\x00-\x1f\x7f]+@[^@\s<>\"(),:;\[\]\\\x00-\x1f\x7f]+\Z"
)

# Data 2.4.2.3: mbox_sha1sum is the hex-encoded SHA1 (40 hex digits).
_SHA1 = re.compile(r"[0-9a-fA-F]{40}\Z")

# Data 2.2 / 4.2: RFC 5646 Language-Tag (langtag / privateuse / grandfathered),
# case-insensitive, whole-string.
_ALNUM = r"[a-z0-9]"
_LANGTAG = (
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language [-extlang]
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variant
    rf"(?:-[0-9a-wy-z](?:-{_ALNUM}{{2,8}})+)*"  # extension
    rf"(?:-x(?:-{_ALNUM}{{1,8}})+)?"  # privateuse
)
_PRIVATEUSE = rf"x(?:-{_ALNUM}{{1,8}})+"
_GRANDFATHERED = (
    r"en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo"
    r"|i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de"
    r"|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_LANGUAGE_TAG = re.compile(rf"(?:{_GRANDFATHERED}|{_LANGTAG}|{_PRIVATEUSE})\Z", re.IGNORECASE)

# Data 4.5: ISO 8601 combined date and time, extended or basic format, optional
# fraction (any precision; '.' or ','), optional zone designator.
_ZONE = r"(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?"
_TS_EXTENDED = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[Tt](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?" + _ZONE + r"\Z",
    re.ASCII,  # "\d" must not match non-ASCII digits
)
_TS_BASIC = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[Tt](?P<h>\d{2})(?P<mi>\d{2})"
    r"(?:(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?" + _ZONE + r"\Z",
    re.ASCII,
)

# Data 4.6: ISO 8601:2004 4.4.3.2 duration, PnYnMnDTnHnMnS or PnW (weeks cannot be
# combined). At least one component, and "T" must be followed by a time component.
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"P(?:{_NUM}W|(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?)\Z",
    re.ASCII,
)

# Data 2.4.10 / Communication 3.3: statement versions a 1.0.x LRS accepts ("1.0" is
# accepted as 1.0.0). The 2.0 conformance suite also accepts 1.0.x statements.
_VERSION_1 = re.compile(r"1\.0(?:\.\d+)?\Z", re.ASCII)
_VERSION_2 = re.compile(r"(?:1|2)\.0(?:\.\d+)?\Z", re.ASCII)

_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UTC = UTC
_ZONES: dict[int, timezone] = {0: _UTC}


# --- Public-facing predicates -------------------------------------------------------


def is_uuid(value: object) -> bool:
    """True for a UUID in standard 8-4-4-4-12 string form (Data 4.4)."""
    return isinstance(value, str) and _UUID.match(value) is not None


def is_iri(value: object) -> bool:
    """True for a string that is an absolute IRI with a scheme (Data 2.2, 4.3; best effort)."""
    return isinstance(value, str) and _iri_ok(value)


def is_language_tag(value: object) -> bool:
    """True for an RFC 5646 language tag (Data 4.2)."""
    return isinstance(value, str) and _tag_ok(value)


def is_duration(value: object) -> bool:
    """True for an ISO 8601 duration in the 4.4.3.2 format (Data 4.6)."""
    return isinstance(value, str) and _DURATION.match(value) is not None


def is_statement_version(value: object, v2: bool) -> bool:
    """True for a statement "version" the request's API version accepts (Data 2.4.10)."""
    if not isinstance(value, str):
        return False
    return (_VERSION_2 if v2 else _VERSION_1).match(value) is not None


# Verb ids, activity types, extension keys and language tags repeat across nearly every
# statement, so valid ones are remembered: a set lookup is far cheaper than the regex.
# Only valid values are stored and the sets are cleared when full, so memory stays bounded.
_CACHE_LIMIT = 4096
K = TypeVar("K")
_KNOWN_IRIS: set[str] = set()
_KNOWN_TAGS: set[str] = set()


def _remember(cache: set[K], value: K) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(value)


def _iri_ok(value: str) -> bool:
    if value in _KNOWN_IRIS:
        return True
    if _IRI.match(value) is None:
        return False
    _remember(_KNOWN_IRIS, value)
    return True


def _tag_ok(value: str) -> bool:
    if value in _KNOWN_TAGS:
        return True
    if _LANGUAGE_TAG.match(value) is None:
        return False
    _remember(_KNOWN_TAGS, value)
    return True


def remembering_valid(checker: Checker) -> Checker:
    """The checker, skipped for a value it found valid before (same JSON, same API version).

    A learner's statements repeat their actor and context, a course's its verbs and
    activities: encoding a part (in C) costs a fraction of walking it again. Only values
    found valid are kept, so every error is still reported, and the set is bounded as above.
    The checker must depend on nothing but the value and the version.
    """
    known: set[tuple[bool, bytes]] = set()

    def check(value: object, path: str, errs: list[str], v2: bool) -> None:
        try:
            key = (v2, orjson.dumps(value))
        except TypeError:  # e.g. an integer beyond 64 bits: no key, just check it
            checker(value, path, errs, v2)
            return
        if key in known:
            return
        found = len(errs)
        checker(value, path, errs, v2)
        if len(errs) == found:
            _remember(known, key)

    return check


# --- Timestamps (Data 4.5) ------------------------------------------------------------

_ZONED, _UNZONED, _INVALID = 0, 1, 2


def _timestamp_groups(value: str) -> tuple[str | None, ...] | None:
    """(year, month, day, hour, minute, second, fraction, Z, sign, offset h, offset m)."""
    match = _TS_EXTENDED.match(value) or _TS_BASIC.match(value)
    return None if match is None else match.groups()


def _timestamp_status(groups: tuple[str | None, ...]) -> int:
    """Whether matched fields form a real instant (_ZONED / _UNZONED) or not (_INVALID)."""
    year, month, day, hour, minute, second, _, z, sign, oh, om = groups
    if not _valid_date(int(year or 0), int(month or 0), int(day or 0)):
        return _INVALID
    # Seconds up to 60 allow the leap second RFC 3339 permits.
    if int(hour or 0) > 23 or int(minute or 0) > 59 or (second and int(second) > 60):
        return _INVALID
    if z:
        return _ZONED
    if sign is None:
        return _UNZONED
    return _INVALID if _offset_minutes(sign, oh, om) is None else _ZONED


def parse_timestamp(value: str) -> datetime | None:
    """Parse an ISO 8601 timestamp (Data 4.5) to an aware datetime; None if invalid.

    A timestamp without a zone is read as UTC (1.0.3 only says it SHOULD* have one).
    """
    if not isinstance(value, str):
        return None
    groups = _timestamp_groups(value)
    if groups is None or _timestamp_status(groups) == _INVALID:
        return None
    year, month, day, hour, minute, second, fraction, z, sign, oh, om = groups
    offset = 0 if z or sign is None else _offset_minutes(sign, oh, om) or 0
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = timezone(timedelta(minutes=offset))
    # A leap second cannot be represented; 59 keeps the instant as close as possible.
    seconds = min(int(second), 59) if second else 0
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:  # fields are range-checked above; the guard only honours "never raise"
        return datetime(
            int(year or 0),
            int(month or 0),
            int(day or 0),
            int(hour or 0),
            int(minute or 0),
            seconds,
            micro,
            zone,
        )
    except (ValueError, OverflowError):
        return None


def timestamp_problem(value: object, v2: bool) -> str | None:
    """Why `value` is not an acceptable timestamp, or None when it is."""
    if not isinstance(value, str):
        return "must be an ISO 8601 timestamp string"
    groups = _timestamp_groups(value)
    status = _INVALID if groups is None else _timestamp_status(groups)
    if status == _ZONED or (status == _UNZONED and not v2):
        return None
    if status == _UNZONED:
        # xAPI 2.0 requires the time zone that 1.0.3 (Data 4.5) only recommends.
        return "must include a time zone offset"
    return "must be an ISO 8601 timestamp"


def _valid_date(year: int, month: int, day: int) -> bool:
    if year < 1 or not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _DAYS_IN_MONTH[month]


def _offset_minutes(sign: str, oh: str | None, om: str | None) -> int | None:
    """The signed UTC offset in minutes, or None when out of range or "-00:00"."""
    hours, minutes = int(oh or 0), int(om) if om else 0
    if hours > 23 or minutes > 59:
        return None
    offset = hours * 60 + minutes
    if offset == 0 and sign == "-":
        # RFC 3339 4.3: "-00:00" means "local offset unknown"; the conformance suite
        # rejects -00, -0000 and -00:00 in every version.
        return None
    return -offset if sign == "-" else offset


# --- Error-reporting helpers shared by the structural checkers ----------------------


def type_error(value: object, path: str, expected: str) -> str:
    """A wrong-type message that calls out nulls explicitly (Data 2.2: no null values)."""
    if value is None:
        return f"{path}: must not be null"
    return f"{path}: must be {expected}"


def as_object(value: object, path: str, errs: list[str]) -> dict[str, object] | None:
    """The value as a JSON object, or None after recording a type error."""
    if isinstance(value, dict):
        return value
    errs.append(type_error(value, path, "an object"))
    return None


def walk(
    obj: dict[str, object], path: str, errs: list[str], v2: bool, props: Mapping[str, Checker]
) -> None:
    """Check each property with its table entry; keys missing from the table are errors.

    Data 2.2: the LRS rejects keys not allowed by the specification (case-sensitive).
    """
    for key, value in obj.items():
        check = props.get(key)
        if check is None:
            errs.append(f"{path}: unexpected property '{key}'")
        else:
            check(value, f"{path}.{key}", errs, v2)


def require(obj: dict[str, object], path: str, errs: list[str], *keys: str) -> None:
    """Record each required key that is absent."""
    for key in keys:
        if key not in obj:
            errs.append(f"{path}.{key}: is required")


def is_number(value: object) -> TypeGuard[float]:
    """A JSON number: int or finite float, never bool (Data 2.2: no bools/strings as numbers)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


# --- Leaf checkers (Checker signature) -----------------------------------------------


def check_string(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))


def check_identifier_string(value: object, path: str, errs: list[str], v2: bool) -> None:
    """A string that identifies something (account name): no control characters in it."""
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif _CONTROL.search(value):
        errs.append(f"{path}: must not contain control characters")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_boolean(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, bool):
        errs.append(type_error(value, path, "a boolean"))


def check_iri(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.2: IRIs without a scheme (or any non-format-following value) are rejected.
    if not isinstance(value, str):
        errs.append(type_error(value, path, "an IRI string"))
    elif not _iri_ok(value):
        errs.append(f"{path}: must be an IRI with a scheme")


def check_irl(value: object, path: str, errs: list[str], v2: bool) -> None:
    # An IRL is an IRI that locates something; syntactically the same best-effort check.
    if not isinstance(value, str):
        errs.append(type_error(value, path, "an IRL string"))
    elif not _iri_ok(value):
        errs.append(f"{path}: must be an IRL with a scheme")


def check_uuid(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a UUID string"))
    elif _UUID.match(value) is None:
        errs.append(f"{path}: must be a UUID in standard string form")


def check_mbox(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.2.3: "mailto IRI", format "mailto:email address".
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif _MBOX.match(value) is None:
        errs.append(f"{path}: must be a 'mailto:' IRI with an email address")


def check_sha1(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.2.3: hex-encoded SHA1 hash of a mailto IRI.
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif _SHA1.match(value) is None:
        errs.append(f"{path}: must be a hex-encoded SHA1 hash (40 hex digits)")


def check_language_tag(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.6 "language": an RFC 5646 tag.
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a string"))
    elif not _tag_ok(value):
        errs.append(f"{path}: must be an RFC 5646 language tag")


def check_language_map(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 4.2 / 2.2: keys are RFC 5646 tags (LRS MUST validate), values are strings.
    obj = as_object(value, path, errs)
    if obj is None:
        return
    for tag, text in obj.items():
        if not isinstance(tag, str) or not _tag_ok(tag):
            errs.append(f"{path}: '{tag}' is not an RFC 5646 language tag")
        if not isinstance(text, str):
            errs.append(type_error(text, f"{path}.{tag}", "a string"))


def check_extensions(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 4.1: keys MUST be IRIs; the LRS MUST NOT reject based on values (even null).
    obj = as_object(value, path, errs)
    if obj is None:
        return
    for key in obj:
        if not isinstance(key, str) or not _iri_ok(key):
            errs.append(f"{path}: key '{key}' must be an IRI with a scheme")


def check_timestamp(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 4.5 (and 2.0's mandatory zone); used for "timestamp" and "stored".
    problem = timestamp_problem(value, v2)
    if problem is not None:
        errs.append(f"{path}: must not be null" if value is None else f"{path}: {problem}")


def check_duration(value: object, path: str, errs: list[str], v2: bool) -> None:
    if not isinstance(value, str):
        errs.append(type_error(value, path, "an ISO 8601 duration string"))
    elif _DURATION.match(value) is None:
        errs.append(f"{path}: must be an ISO 8601 duration (e.g. PT1H30M)")


def check_version(value: object, path: str, errs: list[str], v2: bool) -> None:
    # Data 2.4.10: reject versions not starting with 1.0 (2.0 also accepts 2.0.x).
    if not isinstance(value, str):
        errs.append(type_error(value, path, "a version string"))
    elif not is_statement_version(value, v2):
        allowed = "1.0.x or 2.0.x" if v2 else "1.0.x"
        errs.append(f"{path}: must be a supported xAPI version ({allowed})")


def check_iri_array(value: object, path: str, errs: list[str], v2: bool) -> None:
    """A non-empty array of IRIs (xAPI 2.0 relevantTypes)."""
    if not isinstance(value, list):
        errs.append(type_error(value, path, "an array of IRIs"))
        return
    if not value:
        errs.append(f"{path}: must not be empty")
    for index, item in enumerate(value):
        check_iri(item, f"{path}[{index}]", errs, v2)
