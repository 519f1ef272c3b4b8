"""The plugin's commands: load, users, links, rebuild; errors are messages, never tracebacks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from courses import cli
from courses.config import DEFAULT_CATALOG_DIR

LRS = str(Path(sys.executable).parent / "lrs")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LRS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    return CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    for name, group in cli.commands().items():
        app.add_typer(group, name=name)
    return app


def _invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(_app(), list(args))
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_loading_the_catalogue_twice_changes_nothing_the_second_time(run: CliRunner) -> None:
    code, out, _ = _invoke(run, "courses", "load")
    assert code == 0 and out.startswith("catalogue loaded: 8 courses (")
    assert "progress recomputed from 0 statements" in out
    code, out, _ = _invoke(run, "courses", "load", str(DEFAULT_CATALOG_DIR))
    assert code == 0 and out.startswith("catalogue unchanged: 8 courses")


def test_a_bad_catalogue_is_an_error_naming_each_problem(run: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(DEFAULT_CATALOG_DIR, broken)
    tot = broken / "tot-400.toml"
    tot.write_text(
        tot.read_text().replace('required = ["adult-learning"', 'required = ["adult-learnin"')
    )
    ibm = broken / "ibm-101.toml"
    ibm.write_text(
        ibm.read_text().replace(
            "[certification]\n", '[certification]\nprerequisites = ["TOT-400"]\n'
        )
    )
    code, out, err = _invoke(run, "courses", "load", str(broken))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == (
        "error: invalid catalogue: tot-400.toml: completion.required[0]: unknown unit "
        "'adult-learnin' (units: adult-learning, facilitation, micro-teaching) (and 1 more)"
    )
    assert (
        lines[1] == "error: ibm-101.toml: certification.prerequisites: "
        "prerequisite cycle: IBM-101 -> TOT-400 -> IBM-101"
    )
    code, _, err = _invoke(run, "courses", "load", str(tmp_path / "nowhere"))
    assert code == 2 and "not a directory" in err


def test_users_get_a_role_and_a_password(run: CliRunner) -> None:
    code, out, _ = _invoke(
        run, "users", "add", "fatou", "--role", "designer", "--password", "long enough"
    )
    assert (code, out) == (0, "user: fatou\nrole: designer\npassword: long enough\n")
    code, out, _ = _invoke(run, "users", "add", "moussa", "--role", "auditor")
    assert code == 0 and len(out.splitlines()[2].removeprefix("password: ")) >= 20
    code, _, err = _invoke(run, "users", "add", "x", "--role", "boss")
    assert code == 2 and err == "error: unknown role 'boss'; use one of admin, designer, auditor\n"


def test_learners_are_linked_and_unlinked(run: CliRunner) -> None:
    _invoke(run, "courses", "load")
    mbox, account = (
        '{"mbox": "mailto:ama@example.org"}',
        '{"account": {"homePage": "https://campus.acbc.iom.int", "name": "7"}}',
    )
    code, out, _ = _invoke(run, "learners", "link", mbox, account)
    assert code == 0 and out.endswith(": 2 identities, 0 courses\n")
    code, out, _ = _invoke(run, "learners", "unlink", account)
    assert code == 0 and out.count(": 1 identities") == 2
    code, _, err = _invoke(run, "learners", "link", mbox, "{not json")
    assert code == 2 and err.startswith("error: agent: must be a JSON Agent object")
    code, _, err = _invoke(run, "learners", "unlink", '{"mbox": "mailto:nobody@example.org"}')
    assert (
        code == 2 and err == "error: no learner has the identifier mbox:mailto:nobody@example.org\n"
    )


def test_rebuild_reports_what_it_read(run: CliRunner) -> None:
    _invoke(run, "courses", "load")
    code, out, _ = _invoke(run, "progress", "rebuild")
    assert code == 0 and out.startswith("progress rebuilt from 0 statements in ")


def test_a_malformed_setting_is_an_error(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRS_JWT_MINUTES", "an hour")
    code, _, err = _invoke(run, "users", "add", "x", "--role", "admin")
    assert code == 2 and err == "error: LRS_JWT_MINUTES='an hour' is not a valid int\n"


def test_the_installed_lrs_command_has_the_plugin_commands(tmp_path: Path) -> None:
    env = {**os.environ, "LRS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/lrs.sqlite3"}
    done = subprocess.run(
        [LRS, "courses", "load"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("catalogue loaded: 8 courses")
