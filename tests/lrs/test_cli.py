"""The `lrs` command as operators and scripts use it: credentials, the schema, stopping."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrs.cli import app
from tests.lrs.lrs_process import helper_pids, prepare_database, start_lrs


@pytest.fixture
def lrs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("LRS_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    return database


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_credentials_add_list_revoke(lrs_env: Path) -> None:
    code, out = run("credentials", "add", "moodle-kenya", "--scopes", "statements/write")
    assert code == 0, out
    key = re.search(r"key: (\S+)", out)
    secret = re.search(r"secret: (\S+)", out)
    assert key and secret and len(secret.group(1)) >= 24
    code, listing = run("credentials", "list")
    assert code == 0
    assert f"{key.group(1)}\tmoodle-kenya\tstatements/write\tactive" in listing
    assert secret.group(1) not in listing  # secrets are never shown again
    assert run("credentials", "revoke", key.group(1))[0] == 0
    assert (
        f"{key.group(1)}\tmoodle-kenya\tstatements/write\trevoked" in run("credentials", "list")[1]
    )


def test_given_key_and_secret_are_used_and_a_duplicate_key_is_refused(lrs_env: Path) -> None:
    code, out = run("credentials", "add", "site", "--key", "k1", "--secret", "s1-long-enough")
    assert code == 0 and "key: k1" in out and "secret: s1-long-enough" in out
    code, out = run("credentials", "add", "other", "--key", "k1")
    assert code == 2 and "already exists" in out


def test_unknown_scope_and_unknown_key_are_errors_not_tracebacks(lrs_env: Path) -> None:
    code, out = run("credentials", "add", "x", "--scopes", "statements/everything")
    assert code == 2 and "unknown scope" in out and "Traceback" not in out
    code, out = run("credentials", "revoke", "no-such-key")
    assert code == 1 and "no credential" in out


def test_demo_credential_is_replaced_each_time(lrs_env: Path) -> None:
    first = re.search(r"key: (\S+)", run("credentials", "demo")[1])
    second = re.search(r"key: (\S+)", run("credentials", "demo")[1])
    assert first and second and first.group(1) != second.group(1)
    listing = run("credentials", "list")[1]
    assert f"{first.group(1)}\tdemo\tall\trevoked" in listing
    assert f"{second.group(1)}\tdemo\tall\tactive" in listing


def test_db_upgrade_creates_the_database(lrs_env: Path) -> None:
    code, out = run("db", "upgrade")
    assert code == 0, out
    assert lrs_env.exists()


def test_serve_refuses_an_unknown_plugin_before_serving(
    lrs_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRS_PLUGINS", "courses,certificats")
    code, out = run("serve", "--port", "1")
    assert code == 2 and "unknown plugin(s) certificats" in out and "Traceback" not in out


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_server_has_stopped_its_helper_processes(tmp_path: Path, workers: int) -> None:
    """SIGTERM (docker stop, systemd) stops `lrs serve`: by the time it has exited, its writer
    and background processes have too, and write nothing after it."""
    database_url = f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"
    asyncio.run(prepare_database(database_url))
    server = start_lrs(database_url, tmp_path / "serve.log", workers)
    try:
        helpers: list[int] = []
        deadline = time.monotonic() + 10
        while len(helpers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            helpers = [
                *helper_pids(server.process.pid, "lrs-writer"),
                *helper_pids(server.process.pid, "lrs-background"),
            ]
        assert len(helpers) == 2
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert [pid for pid in helpers if _running(pid)] == []
    finally:
        server.stop()


def _running(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped by init, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
