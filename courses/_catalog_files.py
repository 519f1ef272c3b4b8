"""Read a catalogue directory (one TOML file per course, plus sites.toml) into normalised documents.

Every problem is reported as `FILE: FIELD: PROBLEM`, all of them at once, so a designer can
fix a file in one pass.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from courses._catalog_fields import (
    Problems,
    absolute_iri,
    check_iri,
    string_list,
    texts,
    unknown_fields,
    whole_number,
)
from courses.catalog import (
    DELIVERY_MODES,
    UNIT_KINDS,
    document_version,
    find_prerequisite_cycle,
)
from lrs.errors import BadRequest

SITES_FILE = "sites.toml"
MAX_UNITS = 62
CODE = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# logstore_xapi's course and module IRIs (shared/spec/NOTES.md): {site}/course/view.php?id=N
# and {site}/mod/{module}/view.php?id=N.
MOODLE_COURSE = re.compile(r"^(?P<site>https?://[^?#]+?)/course/view\.php\?id=\d+$")
MOODLE_MODULE = re.compile(r"^(?P<site>https?://[^?#]+?)/mod/[a-z0-9_]+/view\.php\?id=\d+$")

COURSE_FIELDS = {"code", "title", "description", "delivery", "units", "completion", "certification"}
UNIT_FIELDS = {"id", "kind", "title", "iris", "sessions", "min_days"}
SESSION_FIELDS = {"iri", "cohort", "country", "start", "days"}
COMPLETION_FIELDS = {"required", "passed", "min_score", "min_attendance_days"}
CERTIFICATION_FIELDS = {"prerequisites", "validity_months", "sign_off"}


class CatalogInvalid(BadRequest):
    """The catalogue directory has problems; `errors` names each one."""


@dataclass
class LoadedFiles:
    courses: list[dict[str, Any]]
    sites: dict[str, dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)  # course code -> file name


def read_catalog_dir(directory: Path, base_iri: str) -> LoadedFiles:
    """Every course file in `directory`, validated and normalised; raises CatalogInvalid."""
    problems = Problems()
    if not directory.is_dir():
        raise CatalogInvalid(f"{directory}: not a directory")
    sites = _read_sites(directory / SITES_FILE, problems)
    loaded = LoadedFiles([], sites)
    course_files = [path for path in sorted(directory.glob("*.toml")) if path.name != SITES_FILE]
    for path in course_files:
        problems.file = path.name
        raw = _read_toml(path, problems)
        if raw is None:
            continue
        doc = _course(raw, base_iri, sites, problems)
        if doc is None:
            continue
        if doc["code"] in loaded.files:
            problems.add("code", f"{doc['code']} is already defined in {loaded.files[doc['code']]}")
            continue
        loaded.files[doc["code"]] = path.name
        loaded.courses.append(doc)
    if not course_files:
        problems.file = str(directory)
        problems.add("", "no course files (*.toml) found")
    _check_prerequisites(loaded, problems)
    if problems.errors:
        raise CatalogInvalid(_summary(problems.errors), problems.errors)
    return loaded


def _summary(errors: list[str]) -> str:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid catalogue: {errors[0]}{more}"


def _read_toml(path: Path, problems: Problems) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        problems.add("", f"not valid TOML: {error}")
    except (OSError, UnicodeDecodeError) as error:
        problems.add("", f"cannot be read: {error}")
    return None


def _read_sites(path: Path, problems: Problems) -> dict[str, dict[str, Any]]:
    """Moodle sites by homePage, with the country their learners are from (if one)."""
    problems.file = path.name
    if not path.exists():
        return {}
    raw = _read_toml(path, problems)
    sites: dict[str, dict[str, Any]] = {}
    entries = raw.get("sites", []) if raw else []
    if not isinstance(entries, list):
        problems.add("sites", "must be an array of tables ([[sites]])")
        return {}
    for n, entry in enumerate(entries):
        where = f"sites[{n}]"
        if not isinstance(entry, dict):
            problems.add(where, "must be a table")
            continue
        unknown_fields(entry, {"homepage", "name", "country"}, where, problems)
        home = entry.get("homepage")
        if not isinstance(home, str) or not absolute_iri(home):
            problems.add(f"{where}.homepage", f"bad IRI {home!r}: an http(s) address is required")
            continue
        country = entry.get("country")
        if country is not None and (not isinstance(country, str) or not COUNTRY.match(country)):
            problems.add(
                f"{where}.country", f"{country!r} is not an ISO 3166 alpha-2 code (e.g. SN)"
            )
            country = None
        sites[home.rstrip("/")] = {"name": str(entry.get("name", "")), "country": country}
    return sites


def _course(
    raw: dict[str, Any], base_iri: str, sites: dict[str, dict[str, Any]], problems: Problems
) -> dict[str, Any] | None:
    unknown_fields(raw, COURSE_FIELDS, "", problems)
    code = raw.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        problems.add(
            "code", f"{code!r} is not a course code (capitals, digits and dashes: IBM-101)"
        )
        return None
    delivery = string_list(raw.get("delivery"), "delivery", problems)
    for n, mode in enumerate(delivery):
        if mode not in DELIVERY_MODES:
            problems.add(
                f"delivery[{n}]", f"unknown mode {mode!r} (known: {', '.join(DELIVERY_MODES)})"
            )
    if not delivery:
        problems.add("delivery", "at least one delivery mode is required")
    units = _units(raw.get("units"), base_iri, delivery, sites, problems)
    unit_ids = [u["id"] for u in units]
    doc: dict[str, Any] = {
        "code": code,
        "iri": f"{base_iri}/courses/{code.lower()}",
        "title": texts(raw.get("title"), "title", problems),
        "description": texts(raw.get("description"), "description", problems),
        "delivery": delivery,
        "units": units,
        "completion": _completion(raw.get("completion"), unit_ids, units, problems),
        "certification": _certification(raw.get("certification"), problems),
    }
    doc["version"] = document_version(doc)
    return doc


def _units(
    raw: Any,
    base_iri: str,
    delivery: list[str],
    sites: dict[str, dict[str, Any]],
    problems: Problems,
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        problems.add("units", "at least one unit ([[units]]) is required")
        return []
    if len(raw) > MAX_UNITS:  # progress keeps one bit per unit in a 64-bit integer
        problems.add("units", f"at most {MAX_UNITS} units per course")
        return []
    units: list[dict[str, Any]] = []
    seen_iris: dict[str, str] = {}
    for n, entry in enumerate(raw):
        unit = _unit(entry, f"units[{n}]", base_iri, delivery, sites, problems)
        if unit is None:
            continue
        if any(u["id"] == unit["id"] for u in units):
            problems.add(f"units[{n}].id", f"unit {unit['id']!r} is defined twice")
            continue
        for iri in [*unit["iris"], *(s["iri"] for s in unit["sessions"])]:
            if iri in seen_iris:
                problems.add(f"units[{n}]", f"IRI {iri} already belongs to unit {seen_iris[iri]!r}")
            seen_iris[iri] = unit["id"]
        units.append(unit)
    return units


def _unit(
    raw: Any,
    where: str,
    base_iri: str,
    delivery: list[str],
    sites: dict[str, dict[str, Any]],
    problems: Problems,
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return None
    unknown_fields(raw, UNIT_FIELDS, where, problems)
    unit_id, kind = raw.get("id"), raw.get("kind")
    if not isinstance(unit_id, str) or not UNIT_ID.match(unit_id):
        problems.add(f"{where}.id", f"{unit_id!r} is not a unit id (lower case, digits, dashes)")
        return None
    if kind not in UNIT_KINDS:
        problems.add(f"{where}.kind", f"unknown kind {kind!r} (known: {', '.join(UNIT_KINDS)})")
        return None
    if delivery and UNIT_KINDS[kind] not in delivery:
        problems.add(f"{where}.kind", f"a {kind} unit needs {UNIT_KINDS[kind]!r} in delivery")
    iris = [
        iri
        for m, value in enumerate(string_list(raw.get("iris"), f"{where}.iris", problems))
        if (iri := check_iri(value, base_iri, f"{where}.iris[{m}]", problems)) is not None
    ]
    for m, iri in enumerate(iris):
        _check_moodle_iri(kind, iri, f"{where}.iris[{m}]", sites, problems)
    sessions = _sessions(raw.get("sessions"), f"{where}.sessions", base_iri, problems)
    if kind == "session" and not sessions:
        problems.add(f"{where}.sessions", "a session unit needs at least one [[units.sessions]]")
    if kind != "session" and raw.get("sessions") is not None:
        problems.add(f"{where}.sessions", "only session units have sessions")
    if kind != "session" and not iris:
        problems.add(f"{where}.iris", "at least one activity IRI is required")
    return {
        "id": unit_id,
        "kind": kind,
        "title": texts(raw.get("title"), f"{where}.title", problems),
        "iris": iris,
        "sessions": sessions,
        "min_days": whole_number(raw.get("min_days"), f"{where}.min_days", problems, 1, 1),
    }


def _check_moodle_iri(
    kind: str, iri: str, where: str, sites: dict[str, dict[str, Any]], problems: Problems
) -> None:
    pattern = {"moodle-course": MOODLE_COURSE, "moodle-module": MOODLE_MODULE}.get(kind)
    if pattern is None:
        return
    match = pattern.match(iri)
    if match is None:
        shape = "course/view.php?id=N" if kind == "moodle-course" else "mod/NAME/view.php?id=N"
        problems.add(where, f"bad IRI {iri}: a {kind} IRI is {{site}}/{shape}")
    elif match["site"] not in sites:
        problems.add(where, f"Moodle site {match['site']} is not listed in {SITES_FILE}")


def _sessions(raw: Any, where: str, base_iri: str, problems: Problems) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, "must be an array of tables ([[units.sessions]])")
        return []
    sessions: list[dict[str, Any]] = []
    for n, entry in enumerate(raw):
        at = f"{where}[{n}]"
        if not isinstance(entry, dict):
            problems.add(at, "must be a table")
            continue
        unknown_fields(entry, SESSION_FIELDS, at, problems)
        iri = check_iri(entry.get("iri"), base_iri, f"{at}.iri", problems)
        cohort = entry.get("cohort")
        if not isinstance(cohort, str) or not cohort.strip():
            problems.add(f"{at}.cohort", "required: the cohort this session trains")
        country = entry.get("country")
        if country is not None and (not isinstance(country, str) or not COUNTRY.match(country)):
            problems.add(f"{at}.country", f"{country!r} is not an ISO 3166 alpha-2 code (e.g. KE)")
        start = entry.get("start")
        if start is not None and not isinstance(start, date):
            problems.add(f"{at}.start", "must be a TOML date (2026-03-09)")
        if iri is not None and isinstance(cohort, str) and cohort.strip():
            sessions.append(
                {
                    "iri": iri,
                    "cohort": cohort.strip(),
                    "country": country if isinstance(country, str) else None,
                    "start": start.isoformat() if isinstance(start, date) else None,
                    "days": whole_number(entry.get("days"), f"{at}.days", problems, None, 1),
                }
            )
    return sessions


def _completion(
    raw: Any, unit_ids: list[str], units: list[dict[str, Any]], problems: Problems
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "required": [],
        "passed": [],
        "min_score": None,
        "min_attendance_days": 0,
    }
    if not isinstance(raw, dict):
        problems.add("completion", "a [completion] table is required")
        return rule
    unknown_fields(raw, COMPLETION_FIELDS, "completion", problems)
    for name in ("required", "passed"):
        for n, unit_id in enumerate(string_list(raw.get(name), f"completion.{name}", problems)):
            if unit_id not in unit_ids:
                known = ", ".join(unit_ids) or "none"
                problems.add(
                    f"completion.{name}[{n}]", f"unknown unit {unit_id!r} (units: {known})"
                )
            else:
                rule[name].append(unit_id)
    if not raw.get("required"):
        problems.add("completion.required", "at least one required unit is needed")
    score = raw.get("min_score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            problems.add("completion.min_score", f"{score!r} is not a scaled score between 0 and 1")
        else:
            rule["min_score"] = float(score)
    days = whole_number(
        raw.get("min_attendance_days"), "completion.min_attendance_days", problems, 0, 0
    )
    rule["min_attendance_days"] = days
    if days and not any(u["kind"] == "session" for u in units):
        problems.add("completion.min_attendance_days", "the course has no session unit to attend")
    return rule


def _certification(raw: Any, problems: Problems) -> dict[str, Any]:
    rule: dict[str, Any] = {"prerequisites": [], "validity_months": None}
    if raw is None:
        return rule
    if not isinstance(raw, dict):
        problems.add("certification", "must be a table")
        return rule
    unknown_fields(raw, CERTIFICATION_FIELDS, "certification", problems)
    prerequisites = string_list(raw.get("prerequisites"), "certification.prerequisites", problems)
    rule["prerequisites"] = prerequisites
    rule["validity_months"] = whole_number(
        raw.get("validity_months"), "certification.validity_months", problems, None, 1
    )
    # A trainer's sign-off (an administrator approves the certificate); kept only when true,
    # so courses without it keep their version hash.
    sign_off = raw.get("sign_off", False)
    if not isinstance(sign_off, bool):
        problems.add("certification.sign_off", "must be true or false")
    elif sign_off:
        rule["sign_off"] = True
    return rule


def _check_prerequisites(loaded: LoadedFiles, problems: Problems) -> None:
    codes = {doc["code"] for doc in loaded.courses}
    graph: dict[str, tuple[str, ...]] = {}
    for doc in loaded.courses:
        problems.file = loaded.files[doc["code"]]
        needed = doc["certification"]["prerequisites"]
        for n, code in enumerate(needed):
            if code not in codes:
                problems.add(f"certification.prerequisites[{n}]", f"unknown course {code!r}")
            elif code == doc["code"]:
                problems.add(f"certification.prerequisites[{n}]", "a course cannot require itself")
        graph[doc["code"]] = tuple(c for c in needed if c in codes and c != doc["code"])
    cycle = find_prerequisite_cycle(graph)
    if cycle:
        problems.file = loaded.files[cycle[0]]
        problems.add("certification.prerequisites", f"prerequisite cycle: {' -> '.join(cycle)}")
