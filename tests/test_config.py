# SPDX-License-Identifier: AGPL-3.0-or-later
"""Settings: every key documented, file and environment read, bad values named."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub.config import REGISTRY, ConfigError, describe_settings, load_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def test_every_setting_is_documented_with_its_default():
    text = DOCS.read_text(encoding="utf-8")

    for setting in REGISTRY:
        assert f"| `{setting.name}` | `{setting.default}` |" in text, setting.name
    assert text.strip() == describe_settings().strip(), (
        "docs/config.md is stale: run `classroom-hub settings > docs/config.md`"
    )


def test_file_then_environment_then_arguments_override_each_other(tmp_path):
    config = tmp_path / "hub.conf"
    config.write_text("# a comment\nPORT = 9000\nHUB_NAME = Сургууль 12\nTHREADS=3\n")

    settings = load_settings(
        config_file=config,
        environ={"CLASSROOM_HUB_THREADS": "5", "CLASSROOM_HUB_PORT": "9100"},
        PORT=9200,
    )

    assert settings.HUB_NAME == "Сургууль 12"
    assert settings.THREADS == 5
    assert settings.PORT == 9200


def test_unknown_keys_are_warned_about_and_ignored(tmp_path, caplog):
    config = tmp_path / "hub.conf"
    config.write_text("PROT = 9000\n")

    with caplog.at_level(logging.WARNING):
        settings = load_settings(config_file=config, environ={"CLASSROOM_HUB_X": "1"})

    assert settings.PORT == 8080
    assert "PROT" in caplog.text and "CLASSROOM_HUB_X" in caplog.text


@pytest.mark.parametrize(
    "line, expected",
    [
        ("PORT = eighty", "whole number"),
        ("PORT = -1", "from 0 to 65535"),
        ("THREADS = 0", "from 1 to 256"),
        ("PORT", "KEY = value"),
    ],
)
def test_bad_values_name_the_file_line_and_fix(tmp_path, line, expected):
    config = tmp_path / "hub.conf"
    config.write_text(f"\n{line}\n")

    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings(config_file=config, environ={})
    assert f"{config}:2" in str(caught.value)
