"""GET latency benchmark: p50/p95 of the common filters and of `more` paging, at N statements.

    .venv/bin/python bench/queries.py [--engine sqlite|postgres] [--statements 1000000]
        [--requests 200] [--workers 2] [--write-results]

Fills a fresh database through the LRS's own HTTP API (batches of 500 from 8 clients, Moodle-shaped
statements over 100,000 learners), then times sequential GETs for filters picked from the data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _server import append_results, fresh_database, latency_table, running_server
from _statements import VERBS, moodle_statement
from ingest import post_all, request_bodies

HEADERS = {"X-Experience-API-Version": "1.0.3"}


async def fill(url: str, auth: tuple[str, str], total: int) -> tuple[float, list[dict[str, Any]]]:
    """Post `total` statements in chunks (to bound memory); returns (seconds, a sample of them)."""
    rng = random.Random(7)
    sample: list[dict[str, Any]] = []
    seconds = 0.0
    chunk = 50_000
    for start in range(0, total, chunk):
        statements = [moodle_statement(rng) for _ in range(min(chunk, total - start))]
        sample += rng.sample(statements, min(50, len(statements)))
        batches = [statements[i : i + 500] for i in range(0, len(statements), 500)]
        seconds += await post_all(url, auth, request_bodies(batches), 8)
    return seconds, sample


def filters(sample: list[dict[str, Any]], rng: random.Random) -> dict[str, dict[str, str]]:
    one = rng.choice(sample)
    return {
        "agent": {"agent": json.dumps(one["actor"])},
        "activity": {"activity": one["object"]["id"]},
        "verb": {"verb": rng.choice(VERBS)},
        "registration": {"registration": one["context"]["registration"]},
        "related activity (course)": {
            "activity": one["context"]["contextActivities"]["grouping"][1]["id"],
            "related_activities": "true",
        },
        "no filter": {},
    }


async def time_gets(
    url: str, auth: tuple[str, str], sample: list[dict[str, Any]], requests: int
) -> dict[str, list[float]]:
    rng = random.Random(11)
    timings: dict[str, list[float]] = {}
    async with httpx.AsyncClient(auth=auth, headers=HEADERS, timeout=60) as http:
        for _ in range(requests):
            for name, params in filters(sample, rng).items():
                started = time.perf_counter()
                response = await http.get(url + "/statements", params={**params, "limit": "50"})
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"GET {name}: {response.status_code} {response.text[:200]}")
                timings.setdefault(name, []).append(elapsed * 1000)
        # `more` paging: follow pages of the unfiltered listing.
        response = await http.get(url + "/statements", params={"limit": "100"})
        for _ in range(requests):
            more = response.json()["more"]
            if not more:
                break
            started = time.perf_counter()
            response = await http.get(url.rsplit("/xapi", 1)[0] + more)
            timings.setdefault("more paging", []).append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--statements", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.engine, Path(tmp)) as (url, _),
        running_server(url, args.workers) as server,
    ):
        fill_seconds, sample = asyncio.run(fill(server.url, server.auth, args.statements))
        timings = asyncio.run(time_gets(server.url, server.auth, sample, args.requests))
        peak = server.peak_rss_mb
    table = [
        f"{args.statements:,} statements on {args.engine} ({args.workers} workers), filled at "
        f"{args.statements / fill_seconds:,.0f} statements/s, peak RSS {peak:.0f} MB per process",
        "",
        *latency_table(timings, "GET"),
    ]
    print("\n".join(table))
    if args.write_results:
        append_results("GET latency", table)


if __name__ == "__main__":
    main()
