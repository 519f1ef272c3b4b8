"""Under `lrs serve`, progress is kept by one background process at low CPU priority."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from courses import ops
from courses.aggregate import CatalogCache
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings
from lrs.background import NICENESS
from lrs.config import Settings
from lrs.ops.context import LrsContext
from lrs.store.sql import SqlStore
from tests.lrs.lrs_process import HEADERS, helper_pids, prepare_database, start_lrs

CAMPUS = "https://campus.acbc.iom.int"
MODULES = {"orientation": ("page", 1201), "pillars": ("scorm", 1202)}
WAIT_SECONDS = 20


def _modules_done(learner: str) -> list[dict[str, Any]]:
    """A learner's first two IBM-101 modules completed on the campus Moodle."""
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"name": learner, "account": {"homePage": CAMPUS, "name": learner}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": f"{CAMPUS}/mod/{kind}/view.php?id={number}"},
            "context": {
                "contextActivities": {"grouping": [{"id": f"{CAMPUS}/course/view.php?id=12"}]}
            },
            "timestamp": "2026-03-10T09:00:00Z",
        }
        for kind, number in MODULES.values()
    ]


async def _prepare(database_url: str) -> None:
    """The catalogue and an auditor, loaded before the server starts."""
    store = SqlStore(database_url)
    try:
        cc = ops.CoursesContext(
            LrsContext(store=store, settings=Settings(database_url=database_url)),
            CoursesSettings(),
            CatalogCache(),
        )
        await ops.load_catalog(cc, DEFAULT_CATALOG_DIR)
        await ops.add_user(cc, "dina", "auditor", "dina-password")
    finally:
        await store.close()


async def _status_when_kept(api: httpx.AsyncClient, learner: str) -> str:
    """The learner's IBM-101 status, once progress shows them (or after WAIT_SECONDS)."""
    agent = orjson.dumps({"account": {"homePage": CAMPUS, "name": learner}}).decode()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = await api.get("/api/v1/learners", params={"agent": agent})
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200, response.text
    return {c["code"]: c["status"] for c in response.json()["courses"]}["IBM-101"]


async def _replaced(server_pid: int, killed: int) -> list[int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while (found := helper_pids(server_pid, "lrs-background")) in ([], [killed]):
        assert time.monotonic() < deadline, "no new background process"
        await asyncio.sleep(0.1)
    return found


async def test_lrs_serve_keeps_progress_in_one_background_process_that_comes_back(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"
    credential = await prepare_database(database_url)
    await _prepare(database_url)
    server = start_lrs(database_url, tmp_path / "serve.log", workers=2)
    try:
        root = server.url.removesuffix("/xapi")
        async with (
            httpx.AsyncClient(
                base_url=server.url, auth=credential.auth, headers=HEADERS, timeout=30
            ) as xapi,
            httpx.AsyncClient(base_url=root, timeout=30) as api,
        ):
            login = {"username": "dina", "password": "dina-password"}
            token = (await api.post("/api/v1/auth/token", json=login)).json()["access_token"]
            api.headers["Authorization"] = f"Bearer {token}"
            assert (await xapi.post("/statements", json=_modules_done("amina"))).status_code == 200
            assert await _status_when_kept(api, "amina") == "in_progress"
            # One for the server, whatever its workers, at the lowest priority.
            (background,) = helper_pids(server.process.pid, "lrs-background")
            assert os.getpriority(os.PRIO_PROCESS, background) == NICENESS
            os.kill(background, signal.SIGKILL)
            (successor,) = await _replaced(server.process.pid, background)
            assert os.getpriority(os.PRIO_PROCESS, successor) == NICENESS
            assert (await xapi.post("/statements", json=_modules_done("oumar"))).status_code == 200
            assert await _status_when_kept(api, "oumar") == "in_progress"
    finally:
        server.stop()
