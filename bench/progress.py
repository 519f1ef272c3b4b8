"""Progress benchmark (issue 4): aggregation cost, rebuild time, progress query latency.

Usage: .venv/bin/python bench/progress.py [--statements 1000000] [--learners N] [--batch 100]
           [--http-statements N] [--clients 8] [--database sqlite|postgres] [--in-process]
           [--write-results]

Statements over the catalogue (bench/_acbc.py), about ten per learner, are stored twice on
fresh databases, without then with the courses plugin aggregating progress as they arrive:
over HTTP, `lrs serve` as operators run it (its writer process included) with the courses
plugin alone (LRS_PLUGINS=courses) answering --clients concurrent clients posting batches,
with the catalogue loaded or not. With --in-process, first also through lrs.ops.save_statements
in this process, with the aggregator as a task of the same process or as `lrs progress follow`.

The cost of aggregation is the throughput lost, counted until the aggregator has caught up
(wall clock), and the extra CPU time per statement (robust to other load on the machine). Then
`rebuild` on the aggregated database (checked to give the incremental rows) and the latency of
GET /api/v1/courses/{code}/progress for every course, with and without filters.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from _acbc import Generator  # noqa: E402
from _server import post_bodies, running_server, server_cpu_seconds  # noqa: E402

from courses import ops  # noqa: E402
from courses._catalog_files import read_catalog_dir  # noqa: E402
from courses.aggregate import CHECKPOINT, Aggregator, CatalogCache  # noqa: E402
from courses.catalog import catalog_from_documents  # noqa: E402
from courses.config import DEFAULT_CATALOG_DIR, CoursesSettings  # noqa: E402
from courses.plugin import CoursesPlugin, _Wake  # noqa: E402
from courses.store import course_queries  # noqa: E402
from lrs.app import create_app  # noqa: E402
from lrs.config import Settings  # noqa: E402
from lrs.ops.context import LrsContext  # noqa: E402
from lrs.ops.save_statements import Writer, save_statements  # noqa: E402
from lrs.store.sql import SqlStore  # noqa: E402
from lrs.xapi.prepare import Authority, authority_agent  # noqa: E402

LRS = str(ROOT / ".venv" / "bin" / "lrs")
WRITER = Writer(
    Authority("bench", authority_agent("bench", "bench", "https://lrs.acbc.iom.int")), True
)


@dataclass
class Timing:
    wall: float
    cpu: float  # CPU seconds of the process that stores (and aggregates)


def make_batches(total: int, learners: int, batch: int) -> list[bytes]:
    loaded = read_catalog_dir(DEFAULT_CATALOG_DIR, CoursesSettings().base_iri)
    generator = Generator(catalog_from_documents(loaded.courses, loaded.sites))
    batches: list[bytes] = []
    pending: list[dict[str, Any]] = []
    for statement in generator.statements(total, learners):
        pending.append(statement)
        if len(pending) == batch:
            batches.append(orjson.dumps(pending))
            pending = []
    if pending:
        batches.append(orjson.dumps(pending))
    return batches


CREATED: list[str] = []  # databases to remove at the end (SQLite directories or PostgreSQL names)
POSTGRES = os.environ.get("LRS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def new_database(kind: str) -> str:
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="progress-")
        CREATED.append(directory)
        return f"sqlite+aiosqlite:///{directory}/lrs.sqlite3"
    import asyncpg

    name = f"bench_progress_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(POSTGRES)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    CREATED.append(name)
    return f"postgresql+asyncpg://{POSTGRES.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"


async def remove_databases() -> None:
    for created in CREATED:
        if created.startswith("/"):
            shutil.rmtree(created, ignore_errors=True)
            continue
        import asyncpg

        conn = await asyncpg.connect(POSTGRES)
        await conn.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
        await conn.close()


async def open_lrs(url: str, with_catalog: bool) -> ops.CoursesContext:
    store = SqlStore(url)
    await store.create_schema()
    cc = ops.CoursesContext(
        LrsContext(store=store, settings=Settings(database_url=url)),
        CoursesSettings.from_env(),
        CatalogCache(),
    )
    if with_catalog:
        await ops.load_catalog(cc, DEFAULT_CATALOG_DIR)
    return cc


async def caught_up(cc: ops.CoursesContext) -> bool:
    async with cc.lrs.store.read() as tx:
        checkpoint = int(await course_queries(tx).state.get_state(CHECKPOINT) or 0)
        last = (await tx.conn.exec_driver_sql("SELECT max(seq) FROM statement")).scalar()
    return checkpoint >= int(last or 0)


async def ingest_in_process(url: str, batches: list[bytes], aggregate: bool) -> Timing:
    """Store every batch as the Statement resource would (body parsed, then one save each)."""
    cc = await open_lrs(url, with_catalog=aggregate)
    aggregator = Aggregator(cc.lrs, cc.settings, cc.cache)
    if aggregate:
        cc.lrs.listeners.append(_Wake(aggregator))
        aggregator.start()
    wall, cpu = time.perf_counter(), time.process_time()
    for body in batches:
        await save_statements(cc.lrs, orjson.loads(body), WRITER, "1.0.3")
    while aggregate and not await caught_up(cc):
        await asyncio.sleep(0.05)
    timing = Timing(time.perf_counter() - wall, time.process_time() - cpu)
    await aggregator.stop()
    await cc.lrs.store.close()
    return timing


async def ingest_with_follower(url: str, batches: list[bytes]) -> Timing:
    """Store in this process while a separate `lrs progress follow` process aggregates."""
    cc = await open_lrs(url, with_catalog=True)
    env = {**os.environ, "LRS_DATABASE_URL": url, "LRS_LOG_LEVEL": "warning"}
    follower = subprocess.Popen([LRS, "progress", "follow"], env=env, stderr=subprocess.DEVNULL)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        follower_cpu = server_cpu_seconds(follower.pid)
        for body in batches:
            await save_statements(cc.lrs, orjson.loads(body), WRITER, "1.0.3")
        while not await caught_up(cc):
            await asyncio.sleep(0.05)
        spent = time.process_time() - cpu + server_cpu_seconds(follower.pid) - follower_cpu
        return Timing(time.perf_counter() - wall, spent)
    finally:
        follower.terminate()
        follower.wait(timeout=60)
        await cc.lrs.store.close()


async def snapshot(cc: ops.CoursesContext) -> str:
    """A digest of every progress row and identity: equal digests, equal derived state."""
    digest = hashlib.sha256()
    async with cc.lrs.store.read() as tx:
        for table in ("courses_progress", "courses_identity"):
            rows = await tx.conn.exec_driver_sql(f"SELECT * FROM {table}")
            for row in sorted(tuple(str(v) for v in r) for r in rows):
                digest.update("\x1f".join(row).encode())
    return digest.hexdigest()


async def rebuild(url: str) -> tuple[float, bool]:
    cc = await open_lrs(url, with_catalog=False)
    before = await snapshot(cc)
    started = time.perf_counter()
    await ops.rebuild_progress(cc)
    seconds = time.perf_counter() - started
    same = await snapshot(cc) == before
    await cc.lrs.store.close()
    return seconds, same


async def query_latency(url: str, rounds: int) -> dict[str, float]:
    plugin = CoursesPlugin(CoursesSettings(), aggregate_in_background=False)
    app = create_app(Settings(database_url=url), plugins=[plugin])
    timings: list[float] = []
    largest = 0
    async with app.router.lifespan_context(app):
        await ops.add_user(plugin.context, "bench", "designer", "bench-password")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            login = {"username": "bench", "password": "bench-password"}
            token = (await http.post("/api/v1/auth/token", json=login)).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            codes = [c.code for c in await ops.find_courses(plugin.context)]
            filters = [
                "",
                "?country=SN",
                "?since=2026-03-01&until=2026-09-30",
                "?cohort=TOT-2026-MSH",
            ]
            for _ in range(rounds):
                for code in codes:
                    for query in filters:
                        started = time.perf_counter()
                        response = await http.get(f"/api/v1/courses/{code}/progress{query}")
                        timings.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.text
                        largest = max(largest, response.json()["enrolled"])
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "max": timings[-1],
        "largest": largest,
    }


# --- over HTTP ---------------------------------------------------------------------------


def _slices(batches: list[bytes], count: int) -> list[list[bytes]]:
    size = -(-len(batches) // max(1, count))
    return [batches[n : n + size] for n in range(0, len(batches), size)]


async def ingest_over_http(
    plain_url: str, aggregated_url: str, batches: list[bytes], clients: int, slices: int
) -> tuple[Timing, Timing]:
    """(without, with aggregation): two servers, each on its own database, take the batches a
    slice at a time in turn (ABBA order), the aggregated one counted until it has caught up.

    This VM's speed drifts by up to a third over minutes (bench/RESULTS.md): one run after the
    other measured the drift as much as the aggregation. Taking turns, both see the same VM.
    """
    plain_cc = await open_lrs(plain_url, with_catalog=False)
    aggregated_cc = await open_lrs(aggregated_url, with_catalog=True)
    # `lrs serve` (writer process included) with the courses plugin alone: another plugin
    # would add its own work to both runs.
    env = {"LRS_PLUGINS": "courses"}
    spent = {False: Timing(0.0, 0.0), True: Timing(0.0, 0.0)}
    try:
        with (
            running_server(plain_url, env=env) as plain,
            running_server(aggregated_url, env=env) as aggregated,
        ):
            for number, part in enumerate(_slices(batches, slices)):
                for aggregate in (False, True) if number % 2 == 0 else (True, False):
                    server = aggregated if aggregate else plain
                    wall, cpu = time.perf_counter(), server_cpu_seconds(server.process.pid)
                    await post_bodies(server.url + "/statements", server.auth, part, clients)
                    while aggregate and not await caught_up(aggregated_cc):
                        await asyncio.sleep(0.05)
                    took = Timing(
                        time.perf_counter() - wall,
                        server_cpu_seconds(server.process.pid) - cpu,
                    )
                    spent[aggregate] = Timing(
                        spent[aggregate].wall + took.wall, spent[aggregate].cpu + took.cpu
                    )
                    which = "aggregated" if aggregate else "plain"
                    print(f"  slice {number + 1}, {which}: {took.wall:.1f} s", flush=True)
        return spent[False], spent[True]
    finally:
        await plain_cc.lrs.store.close()
        await aggregated_cc.lrs.store.close()


# --- the run -----------------------------------------------------------------------------


def _compare(name: str, count: int, plain: Timing, aggregated: Timing) -> dict[str, float]:
    figures = {
        "plain_rate": count / plain.wall,
        "rate": count / aggregated.wall,
        "cost": 1 - plain.wall / aggregated.wall,
        "plain_cpu_us": plain.cpu / count * 1e6,
        "cpu_us": aggregated.cpu / count * 1e6,
    }
    figures["cpu_cost"] = 1 - figures["plain_cpu_us"] / figures["cpu_us"]
    print(
        f"{name}: {figures['plain_rate']:,.0f} -> {figures['rate']:,.0f} statements/s "
        f"(cost {figures['cost']:.1%}); CPU {figures['plain_cpu_us']:.0f} -> "
        f"{figures['cpu_us']:.0f} us/statement (cost {figures['cpu_cost']:.1%})",
        flush=True,
    )
    return figures


async def run(args: argparse.Namespace) -> list[str]:
    learners = args.learners or max(1, args.statements // 10)
    started = time.perf_counter()
    batches = make_batches(args.statements, learners, args.batch)
    machine = (
        f"{platform.node()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {args.database}"
    )
    day = f"{datetime.now(tz=UTC):%Y-%m-%d}"
    print(
        f"generated {args.statements:,} statements from {learners:,} learners "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    rows: list[str] = []
    if args.in_process:
        plain = await ingest_in_process(await new_database(args.database), batches, aggregate=False)
        aggregated = await ingest_in_process(
            await new_database(args.database), batches, aggregate=True
        )
        local = _compare(
            "in process, aggregator in the same process", args.statements, plain, aggregated
        )
        apart = _compare(
            "in process, aggregator in its own process",
            args.statements,
            plain,
            await ingest_with_follower(await new_database(args.database), batches),
        )
        rows += [
            f"| {day} | {machine} | in process, {args.statements:,} statements, "
            f"{learners:,} learners | "
            f"{local['plain_rate']:,.0f} -> {local['rate']:,.0f} ({local['cost']:.1%}) | "
            f"{local['plain_cpu_us']:.0f} -> {local['cpu_us']:.0f} ({local['cpu_cost']:.1%}) "
            "| | |",
            f"| {day} | {machine} | same, `lrs progress follow` in its own process | "
            f"{apart['plain_rate']:,.0f} -> {apart['rate']:,.0f} ({apart['cost']:.1%}) | "
            f"{apart['plain_cpu_us']:.0f} -> {apart['cpu_us']:.0f} ({apart['cpu_cost']:.1%}) "
            "(both processes) | | |",
        ]
    count = min(args.http_statements or args.statements, args.statements)
    sent = batches[: max(1, count // args.batch)]
    count = sum(len(orjson.loads(b)) for b in sent)
    url = await new_database(args.database)
    plain_http, with_http = await ingest_over_http(
        await new_database(args.database), url, sent, args.clients, args.slices
    )
    http = _compare("over HTTP (lrs serve)", count, plain_http, with_http)
    rebuild_seconds, same = await rebuild(url)
    print(f"rebuild: {rebuild_seconds:.0f} s, same rows as incremental: {same}", flush=True)
    latency = await query_latency(url, args.rounds)
    print(
        f"progress query: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms, "
        f"max {latency['max']:.0f} ms (largest course: {latency['largest']:,} learners)",
        flush=True,
    )
    rows.append(
        f"| {day} | {machine} | HTTP (`lrs serve`), {count:,} statements, {learners:,} learners, "
        f"{args.clients}x{args.batch} | "
        f"{http['plain_rate']:,.0f} -> {http['rate']:,.0f} ({http['cost']:.1%}) | "
        f"{http['plain_cpu_us']:.0f} -> {http['cpu_us']:.0f} ({http['cpu_cost']:.1%}) | "
        f"{rebuild_seconds:.0f} s ({'same rows' if same else 'DIFFERENT'}) | "
        f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['max']:.0f} ms "
        f"({latency['largest']:,} learners) |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--learners", type=int, default=0, help="default: statements / 10")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--http-statements", type=int, default=0, help="how many go over HTTP (default: all)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--slices", type=int, default=10, help="turns each server takes over HTTP (1: one run each)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of progress queries")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="also store in this process, without HTTP (the aggregator's cost alone)",
    )
    parser.add_argument(
        "--write-results", action="store_true", help="append rows to bench/RESULTS.md"
    )
    args = parser.parse_args()

    async def run_and_clean() -> list[str]:
        try:
            return await run(args)
        finally:
            await remove_databases()

    rows = asyncio.run(run_and_clean())
    print("\n".join(rows))
    if args.write_results:
        write_results(ROOT / "bench" / "RESULTS.md", rows)


def write_results(results: Path, rows: list[str]) -> None:
    """Add the rows at the end of this benchmark's table (made on first use)."""
    lines = results.read_text().splitlines() if results.exists() else ["# Benchmark results"]
    if "## Progress (issue 4)" not in lines:
        lines += (SECTION + HEADER).rstrip("\n").splitlines()
    at = lines.index("## Progress (issue 4)")
    at = next(n for n in range(at, len(lines)) if lines[n].startswith("| --- |")) + 1
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    results.write_text("\n".join([*lines[:at], *rows, *lines[at:]]) + "\n")


SECTION = """
## Progress (issue 4)

`bench/progress.py`: statements over the ACBC catalogue (Moodle, cmi5, attendance, 0.2% voided),
about ten per learner, stored without and with the courses plugin aggregating progress as they
arrive. Throughput is counted until the aggregator has caught up; CPU is the storing process's
(robust to other load). Rebuild is `lrs progress rebuild` on the aggregated database, checked
to give the same rows. Query latency is GET /api/v1/courses/{code}/progress through the ASGI app
for each of the eight courses with no filter, country, period and cohort (p50 / p95 / max).

"""
HEADER = (
    "| date | machine | run | statements/s without -> with (cost) "
    "| CPU us/statement without -> with (cost) | rebuild | progress query |\n"
    "| --- | --- | --- | --- | --- | --- | --- |\n"
)


if __name__ == "__main__":
    main()
