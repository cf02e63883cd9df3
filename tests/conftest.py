# SPDX-License-Identifier: AGPL-3.0-or-later
"""Shared fixtures: a seeded hub data folder and a real hub server on it."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.hub import HubProcess, seed_data_dir

pytest_plugins = ["tests.support.lrs_fixture"]


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    """A data folder with the bundled packs and the demo class, made once."""
    data_dir = tmp_path_factory.mktemp("template") / "data"
    seed_data_dir(data_dir)
    return data_dir


@pytest.fixture
def hub_data(seeded_template, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded_template, data_dir)
    return data_dir


@pytest.fixture
def hub_server(hub_data):
    """A running hub with the bundled packs and the demo class."""
    hub = HubProcess(hub_data).start()
    yield hub
    hub.kill()


@pytest.fixture
def demo_learners(hub_server):
    classes = hub_server.get("/api/v1/classes").json()["classes"]
    return classes[0]["learners"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI every test runs: a skip there (a missing browser, debootstrap
    or tool that scripts/test should have installed) is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true":
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where nothing may be: {report.longrepr}"
