# SPDX-License-Identifier: AGPL-3.0-or-later
"""The ``lrs`` fixture: one real Ralph LRS for the whole test session.

Register it in ``tests/conftest.py`` with
``pytest_plugins = ["tests.support.lrs_fixture"]`` (or by importing ``lrs``
there). Tests share the server and tell their statements apart by id, which
keeps Ralph's start-up (about 2 s) to once per run. pytest runs fixtures in
one thread; the server is stopped when the session ends, even after a
failure.
"""

import pytest

from .lrs import RalphLRS


@pytest.fixture(scope="session")
def lrs(tmp_path_factory):
    """A running Ralph LRS: .url, .username, .password, .statements()."""
    with RalphLRS(tmp_path_factory.mktemp("ralph")) as server:
        yield server
