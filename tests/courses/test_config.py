"""The plugin's settings: read from LRS_* variables, and every one documented in README."""

from __future__ import annotations

from pathlib import Path

import pytest

from courses.config import CoursesSettings, SettingInvalid, courses_settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_settings_table() -> None:
    text = README.read_text()
    for variable, default, meaning in courses_settings_table():
        shown = f"`{default}`" if default else "(empty)"
        assert f"| `{variable}` | {shown} | {meaning} |" in text, variable


def test_settings_come_from_the_environment() -> None:
    settings = CoursesSettings.from_env(
        {
            "LRS_COURSES_BASE_IRI": "https://learn.example.org/xapi/",
            "LRS_JWT_MINUTES": "15",
            "LRS_PROGRESS_DELAY_SECONDS": "0.5",
        }
    )
    assert settings.base_iri == "https://learn.example.org/xapi"
    assert (settings.token_minutes, settings.aggregate_delay_seconds) == (15, 0.5)
    with pytest.raises(SettingInvalid, match="LRS_JWT_MINUTES='soon' is not a valid int"):
        CoursesSettings.from_env({"LRS_JWT_MINUTES": "soon"})
