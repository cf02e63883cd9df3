# SPDX-License-Identifier: AGPL-3.0-or-later
"""Teachers' guide completions reach the LRS once, under a pseudonym."""

from __future__ import annotations

import json

from hub.app import Hub
from hub.config import load_settings
from hub.sync import run_sync
from hub.teachers import TeacherAccounts
from hub.xapi import validate_statement


def test_a_guide_read_by_a_teacher_reaches_the_lrs_once_without_her_name(lrs, tmp_path):
    settings = load_settings(
        environ={},
        DATA_DIR=str(tmp_path / "data"),
        LRS_URL=lrs.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
        SYNC_TIMEOUT_S=10,
        SYNC_RETRIES=0,
    )
    hub = Hub.open(settings)
    try:
        accounts = TeacherAccounts(hub.state)
        teacher = accounts.add_teacher("Оюунчимэг", "a long enough password")
        accounts.mark_guide_read(teacher, "guide-vocab-session", "1.0.0", "session")

        first = run_sync(hub)
        second = run_sync(hub)
        hub_id = hub.state.hub_id
    finally:
        hub.close()

    assert first.guides_sent == 1, first.summary()
    assert second.guides_sent == 0
    held = [
        statement
        for statement in lrs.statements()
        if statement["verb"]["id"].endswith("/completed")
        and statement["actor"]["account"]["name"] == f"{hub_id}/{teacher.id}"
    ]
    assert len(held) == 1
    assert validate_statement(held[0]) == []
    assert "Оюунчимэг" not in json.dumps(held[0], ensure_ascii=False)
    assert held[0]["object"]["id"].endswith("/guide-vocab-session/guides/session")
