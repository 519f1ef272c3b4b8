"""README documents every setting and every command an operator can use."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from lrs.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_each_core_setting_is_in_the_readme(name: str) -> None:
    assert f"`LRS_{name.upper()}`" in README


@pytest.mark.parametrize(
    "command",
    [
        "lrs serve",
        "lrs db upgrade",
        "lrs credentials add",
        "lrs credentials list",
        "lrs credentials revoke",
        "lrs credentials demo",
        "make run",
        "make test",
    ],
)
def test_each_core_command_is_in_the_readme(command: str) -> None:
    assert command in README
