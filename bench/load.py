"""Load benchmark: N concurrent clients for T seconds, mixing writes and reads; counts failures.

    .venv/bin/python bench/load.py [--engine sqlite|postgres] [--clients 50] [--seconds 60]
        [--workers 2] [--write-results]

Each client loops: POST a batch of 10 statements, GET its first statement back by id, GET the
latest page for the learner. Any answer other than 200 (or a transport error) is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _server import append_results, fresh_database, latency_table, running_server
from _statements import moodle_statement

HEADERS = {"X-Experience-API-Version": "1.0.3"}


async def _timed(
    stats: dict[str, list[float]], name: str, request: Awaitable[httpx.Response]
) -> httpx.Response | None:
    """Await one request, record its latency, and count anything but a 200 as a failure."""
    started = time.perf_counter()
    try:
        response = await request
    except httpx.HTTPError:
        response = None
    stats.setdefault(name, []).append((time.perf_counter() - started) * 1000)
    if response is None or response.status_code != 200:
        stats.setdefault("failures", []).append(1.0)
        return None
    return response


async def client(
    url: str, auth: tuple[str, str], seed: int, until: float, stats: dict[str, list[float]]
) -> None:
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(auth=auth, headers=HEADERS, timeout=30, limits=limits) as http:
        while time.monotonic() < until:
            batch = [moodle_statement(rng) for _ in range(10)]
            posted = await _timed(stats, "POST 10", http.post(url + "/statements", json=batch))
            if posted is None:
                continue
            first = {"statementId": posted.json()[0]}
            await _timed(stats, "GET by id", http.get(url + "/statements", params=first))
            mine = {"agent": json.dumps(batch[0]["actor"]), "limit": "20"}
            await _timed(stats, "GET agent", http.get(url + "/statements", params=mine))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    stats: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(args.engine, Path(tmp)) as (url, _),
        running_server(url, args.workers) as server,
    ):
        until = time.monotonic() + args.seconds

        async def run() -> None:
            await asyncio.gather(
                *(client(server.url, server.auth, n, until, stats) for n in range(args.clients))
            )

        asyncio.run(run())
        peak = server.peak_rss_mb
    failures = len(stats.pop("failures", []))
    total = sum(len(v) for v in stats.values())
    table = [
        f"{args.clients} clients for {args.seconds:.0f} s on {args.engine} "
        f"({args.workers} workers): {total:,} requests, {failures} failed, "
        f"peak RSS {peak:.0f} MB per process",
        "",
        *latency_table(stats),
    ]
    print("\n".join(table))
    if args.write_results:
        append_results("Concurrent load", table)


if __name__ == "__main__":
    main()
