"""Catalogue files: the ACBC catalogue loads; each kind of mistake is named by file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from courses._catalog_files import CatalogInvalid, read_catalog_dir
from courses.catalog import catalog_from_documents
from courses.config import DEFAULT_CATALOG_DIR

BASE = "https://acbc.iom.int/xapi"


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A copy of the real catalogue to break."""
    target = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _errors(directory: Path) -> list[str]:
    with pytest.raises(CatalogInvalid) as raised:
        read_catalog_dir(directory, BASE)
    assert raised.value.message.startswith("invalid catalogue: ")
    return raised.value.errors


def test_the_acbc_catalogue_loads_with_bilingual_courses() -> None:
    loaded = read_catalog_dir(DEFAULT_CATALOG_DIR, BASE)
    catalog = catalog_from_documents(loaded.courses, loaded.sites)
    assert len(catalog.courses) >= 8
    for course in catalog.courses.values():
        assert course.title["fr"] != course.title["en"]
        assert course.description["fr"] and course.description["en"]
        assert course.units and course.completion.required
        assert re.fullmatch(r"[0-9a-f]{16}", course.version)
    modes = {mode for course in catalog.courses.values() for mode in course.delivery}
    assert modes == {"moodle", "package", "face-to-face"}
    assert catalog.courses["TOT-400"].certification.prerequisites == ("IBM-101",)
    assert catalog.order.index("IBM-101") < catalog.order.index("TOT-400")


def test_relative_iris_resolve_under_the_base_iri() -> None:
    loaded = read_catalog_dir(DEFAULT_CATALOG_DIR, "https://learn.example.org/lrs")
    catalog = catalog_from_documents(loaded.courses, loaded.sites)
    hbm = catalog.courses["HBM-120"]
    assert hbm.iri == "https://learn.example.org/lrs/courses/hbm-120"
    assert hbm.units[0].iris == ("https://learn.example.org/lrs/packages/hbm-120/au/principles",)
    assert "https://campus.acbc.iom.int/mod/quiz/view.php?id=1204" in catalog.targets


def test_a_changed_course_gets_a_new_version(catalog_dir: Path) -> None:
    before = {d["code"]: d["version"] for d in read_catalog_dir(catalog_dir, BASE).courses}
    _edit(catalog_dir / "ibm-101.toml", "min_score = 0.7", "min_score = 0.75")
    after = {d["code"]: d["version"] for d in read_catalog_dir(catalog_dir, BASE).courses}
    assert after["IBM-101"] != before["IBM-101"]
    assert {k: v for k, v in after.items() if k != "IBM-101"} == {
        k: v for k, v in before.items() if k != "IBM-101"
    }


def test_an_unknown_unit_is_named(catalog_dir: Path) -> None:
    _edit(catalog_dir / "ibm-101.toml", 'required = ["orientation"', 'required = ["orientaton"')
    assert _errors(catalog_dir) == [
        "ibm-101.toml: completion.required[0]: unknown unit 'orientaton' "
        "(units: moodle-course, orientation, pillars, interagency, final-quiz)"
    ]


def test_a_bad_iri_is_named(catalog_dir: Path) -> None:
    _edit(catalog_dir / "hbm-120.toml", '"packages/hbm-120/au/principles"', '"http//bad iri"')
    _edit(
        catalog_dir / "tde-201.toml",
        '"https://campus.acbc.iom.int/mod/quiz/view.php?id=2104"',
        '"ftp://campus.acbc.iom.int/quiz"',
    )
    errors = _errors(catalog_dir)
    assert (
        "hbm-120.toml: units[0].iris[0]: bad IRI 'http//bad iri': "
        "use an absolute http(s) IRI or a relative path" in errors
    )
    assert any(e.startswith("tde-201.toml: units[3].iris[0]: bad IRI 'ftp://") for e in errors)


def test_a_moodle_iri_must_name_a_listed_site(catalog_dir: Path) -> None:
    _edit(
        catalog_dir / "cbmm-300.toml",
        "https://campus.acbc.iom.int/mod/book",
        "https://elsewhere.example.org/mod/book",
    )
    _edit(
        catalog_dir / "cbmm-300.toml",
        "https://campus.acbc.iom.int/mod/lesson/view.php?id=3002",
        "https://campus.acbc.iom.int/lesson/3002",
    )
    assert _errors(catalog_dir) == [
        "cbmm-300.toml: units[0].iris[0]: "
        "Moodle site https://elsewhere.example.org is not listed in sites.toml",
        "cbmm-300.toml: units[1].iris[0]: bad IRI https://campus.acbc.iom.int/lesson/3002: "
        "a moodle-module IRI is {site}/mod/NAME/view.php?id=N",
    ]


def test_a_prerequisite_cycle_is_named(catalog_dir: Path) -> None:
    _edit(
        catalog_dir / "ibm-101.toml",
        "[certification]\n",
        '[certification]\nprerequisites = ["TOT-400"]\n',
    )
    assert _errors(catalog_dir) == [
        "ibm-101.toml: certification.prerequisites: "
        "prerequisite cycle: IBM-101 -> TOT-400 -> IBM-101"
    ]


def test_unknown_prerequisites_and_self_requirements_are_named(catalog_dir: Path) -> None:
    _edit(
        catalog_dir / "tot-400.toml",
        'prerequisites = ["IBM-101"]',
        'prerequisites = ["IBM-100", "TOT-400"]',
    )
    assert _errors(catalog_dir) == [
        "tot-400.toml: certification.prerequisites[0]: unknown course 'IBM-100'",
        "tot-400.toml: certification.prerequisites[1]: a course cannot require itself",
    ]


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'code = "PRV-130"',
            'code = "prv 130"',
            "prv-130.toml: code: 'prv 130' is not a course code",
        ),
        (
            'code = "PRV-130"',
            'code = "IBM-101"',
            "prv-130.toml: code: IBM-101 is already defined in ibm-101.toml",
        ),
        ('fr = "Protection et orientation', 'de = "Schutz', "prv-130.toml: title.fr: missing"),
        (
            'delivery = ["moodle", "package"]',
            'delivery = ["moodle", "radio"]',
            "prv-130.toml: delivery[1]: unknown mode 'radio'",
        ),
        (
            'delivery = ["moodle", "package"]',
            'delivery = ["moodle"]',
            "prv-130.toml: units[2].kind: a package-au unit needs 'package'",
        ),
        (
            'kind = "package-au"',
            'kind = "webinar"',
            "prv-130.toml: units[2].kind: unknown kind 'webinar'",
        ),
        (
            "min_score = 0.6",
            "min_score = 60",
            "prv-130.toml: completion.min_score: 60 is not a scaled score",
        ),
        (
            "validity_months = 36",
            'validity_months = "three years"',
            "prv-130.toml: certification.validity_months: must be a whole number",
        ),
        (
            "[completion]",
            "[completion]\nmin_attendance_days = 2",
            "prv-130.toml: completion.min_attendance_days: the course has no session unit",
        ),
        (
            'id = "quiz"',
            'id = "referral"',
            "prv-130.toml: units[3].id: unit 'referral' is defined twice",
        ),
        (
            'code = "PRV-130"',
            'code = "PRV-130"\ncolour = "blue"',
            "prv-130.toml: colour: unknown field",
        ),
        (
            "[completion]",
            'colour = "blue"\n[completion]',
            "prv-130.toml: units[3].colour: unknown field",
        ),
        ("[certification]", "[certification\n", "prv-130.toml: not valid TOML"),
    ],
)
def test_each_mistake_is_named_by_file_and_field(
    catalog_dir: Path, old: str, new: str, error: str
) -> None:
    _edit(catalog_dir / "prv-130.toml", old, new)
    errors = _errors(catalog_dir)
    assert any(e.startswith(error) for e in errors), errors


def test_session_units_need_sessions_with_cohorts(catalog_dir: Path) -> None:
    _edit(catalog_dir / "cpba-110.toml", 'cohort = "CPBA-2026-NIM"', 'cohort = ""')
    _edit(catalog_dir / "cpba-110.toml", 'country = "TZ"', 'country = "Tanzania"')
    _edit(catalog_dir / "cpba-110.toml", "start = 2026-06-08", 'start = "June"')
    assert _errors(catalog_dir) == [
        "cpba-110.toml: units[1].sessions[0].cohort: required: the cohort this session trains",
        "cpba-110.toml: units[1].sessions[1].country: "
        "'Tanzania' is not an ISO 3166 alpha-2 code (e.g. KE)",
        "cpba-110.toml: units[1].sessions[1].start: must be a TOML date (2026-03-09)",
    ]


def test_a_bad_sites_file_and_an_empty_directory_are_named(tmp_path: Path) -> None:
    (tmp_path / "sites.toml").write_text('[[sites]]\nhomepage = "moodle"\n')
    errors = _errors(tmp_path)
    assert (
        errors[0]
        == "sites.toml: sites[0].homepage: bad IRI 'moodle': an http(s) address is required"
    )
    assert errors[1].endswith("no course files (*.toml) found")
    with pytest.raises(CatalogInvalid, match="not a directory"):
        read_catalog_dir(tmp_path / "missing", BASE)
