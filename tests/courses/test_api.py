"""The progress API's resources: catalogue in French or English, CSV, clear 4xx for bad requests."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.courses._clients import ClientFor


@pytest.fixture
async def designer(api_as: ClientFor) -> httpx.AsyncClient:
    return await api_as("designer")


async def test_the_catalogue_lists_eight_courses_in_the_requested_language(
    designer: httpx.AsyncClient,
) -> None:
    english = (
        await designer.get("/api/v1/courses", headers={"Accept-Language": "en-GB,en;q=0.8"})
    ).json()
    french = await designer.get("/api/v1/courses", headers={"Accept-Language": "fr-SN, en;q=0.5"})
    assert french.headers["content-language"] == "fr"
    codes = [c["code"] for c in english["courses"]]
    assert len(codes) >= 8 and {
        "IBM-101",
        "TDE-201",
        "CPBA-110",
        "HBM-120",
        "PRV-130",
        "MIDAS-210",
        "CBMM-300",
        "TOT-400",
    } <= set(codes)
    titles = {c["code"]: c["title"] for c in french.json()["courses"]}
    assert titles["IBM-101"] == "Fondamentaux de la gestion intégrée des frontières"
    assert {c["code"]: c["title"] for c in english["courses"]}[
        "IBM-101"
    ] == "Integrated Border Management: Fundamentals"
    for course in english["courses"]:
        assert course["iri"] == f"https://acbc.iom.int/xapi/courses/{course['code'].lower()}"
        assert len(course["version"]) == 16


async def test_an_unsupported_language_falls_back_to_english(designer: httpx.AsyncClient) -> None:
    response = await designer.get(
        "/api/v1/courses/TOT-400", headers={"Accept-Language": "pt-BR, de"}
    )
    assert response.headers["content-language"] == "en"
    assert response.json()["title"] == "Training of Trainers"


async def test_a_course_shows_its_units_rules_and_prerequisites(
    designer: httpx.AsyncClient,
) -> None:
    response = await designer.get("/api/v1/courses/tot-400", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    course = response.json()
    assert course["title"] == "Formation de formateurs"
    assert course["prerequisites"] == ["IBM-101"] and course["validity_months"] == 24
    assert [u["id"] for u in course["units"]] == [
        "adult-learning",
        "facilitation",
        "micro-teaching",
    ]
    sessions = course["units"][1]["sessions"]
    assert sessions[0]["iri"] == "https://acbc.iom.int/xapi/sessions/tot-400/2026-moshi"
    assert course["completion"]["passed"] == ["micro-teaching"]


async def test_csv_is_one_row_per_course(designer: httpx.AsyncClient) -> None:
    response = await designer.get(
        "/api/v1/courses", params={"format": "csv"}, headers={"Accept-Language": "fr"}
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["code"]: r["title"] for r in rows}[
        "CPBA-110"
    ] == "Police de proximité dans les zones frontalières"


async def test_progress_as_csv_has_one_figure_per_row(designer: httpx.AsyncClient) -> None:
    response = await designer.get("/api/v1/courses/IBM-101/progress", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "key", "value"]
    assert ["summary", "enrolled", "0"] in rows
    assert ["funnel_started", "final-quiz", "0"] in rows


async def test_an_empty_course_reports_zeros(designer: httpx.AsyncClient) -> None:
    body = (await designer.get("/api/v1/courses/CBMM-300/progress")).json()
    assert body["enrolled"] == 0 and body["completion_rate"] is None and body["pass_rate"] is None
    assert body["scores"] == {
        "count": 0,
        "average": None,
        "distribution": body["scores"]["distribution"],
    }
    assert [step["unit"] for step in body["funnel"]] == [
        "methodology",
        "indicators",
        "data-collection",
        "report",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/courses/NOPE-999",
        "/api/v1/courses/NOPE-999/progress",
        "/api/v1/courses/%00/progress",
    ],
)
async def test_unknown_courses_get_404(designer: httpx.AsyncClient, path: str) -> None:
    response = await designer.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-03-01T10:00:00", "timezone"),
        ("since=2026-06-01&until=2026-05-01", "after until"),
        ("country=Senegal", "country"),
        ("country=", "country"),
        ("cohort=" + "x" * 101, "cohort"),
        ("format=xml", "format"),
        ("region=west", "unknown parameter"),
        ("country=SN&country=KE", "more than once"),
    ],
)
async def test_bad_filters_get_400_naming_the_parameter(
    designer: httpx.AsyncClient, query: str, words: str
) -> None:
    response = await designer.get(f"/api/v1/courses/IBM-101/progress?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"
    assert words in response.json()["message"]


async def test_learner_lookups_need_a_valid_agent(api_as: ClientFor) -> None:
    auditor = await api_as("auditor")
    assert (await auditor.get("/api/v1/learners")).status_code == 400
    for agent in (
        "not json",
        '{"name": "no identifier"}',
        '{"mbox": "amina@example.org"}',
        '{"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}], '
        '"mbox": "mailto:g@example.org"}',
    ):
        response = await auditor.get("/api/v1/learners", params={"agent": agent})
        assert response.status_code == 400, agent
        assert response.json()["error"] == "BadRequest"
    unknown = await auditor.get(
        "/api/v1/learners", params={"agent": '{"mbox": "mailto:nobody@example.org"}'}
    )
    assert unknown.status_code == 404
    assert (await auditor.get("/api/v1/learners/Lnothing")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"agents": []},
        {"agents": [{"mbox": "mailto:a@example.org"}]},
        {"agents": [{"mbox": "mailto:a@example.org"}, {"mbox": "mailto:a@example.org"}]},
        {"agents": [{"mbox": "mailto:a@example.org"}, "not an agent"]},
    ],
)
async def test_bad_link_requests_get_400(api_as: ClientFor, body: dict[str, object]) -> None:
    admin = await api_as("admin")
    response = await admin.post("/api/v1/learners/link", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"


async def test_unknown_paths_and_methods_answer_json(designer: httpx.AsyncClient) -> None:
    missing = await designer.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    wrong = await designer.delete("/api/v1/courses")
    assert wrong.status_code == 405 and wrong.json()["error"] == "MethodNotAllowed"


async def test_a_transcript_as_csv_keeps_formulas_out_of_spreadsheets(
    api_as: ClientFor, xapi: httpx.AsyncClient, settle: Callable[[], Awaitable[int]]
) -> None:
    actor = {"name": '=HYPERLINK("http://evil.example")', "mbox": "mailto:ama@example.org"}
    statement = {
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://campus.acbc.iom.int/mod/page/view.php?id=1201"},
    }
    assert (await xapi.post("/xapi/statements", json=statement)).status_code == 200
    await settle()
    auditor = await api_as("auditor")
    response = await auditor.get(
        "/api/v1/learners", params={"agent": '{"mbox": "mailto:ama@example.org"}', "format": "csv"}
    )
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["name"] == '\'=HYPERLINK("http://evil.example")'
    assert (row["course"], row["status"]) == ("IBM-101", "in_progress")
