# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub's TinyDB state: atomic writes, a damaged file falls back, ids kept."""

from __future__ import annotations

import time

import pytest

from hub.state import HubState, StateError


def test_state_survives_a_damaged_file_by_falling_back_to_the_previous_copy(
    tmp_path,
):
    path = tmp_path / "hub.json"
    state = HubState(path)
    hub_id = state.hub_id
    group = state.add_class("1A")
    state.add_learner(group["id"], "Болд", "sun")
    state.close()
    path.write_bytes(b"")  # what a power cut on a bad SD card leaves behind

    again = HubState(path)

    assert again.hub_id == hub_id
    assert again.classes()[0]["name"] == "1A"
    assert list(tmp_path.glob("hub.json.broken-*"))


def test_a_write_leaves_no_temporary_files(tmp_path):
    state = HubState(tmp_path / "hub.json")
    state.add_class("1A")

    state.add_class("1B")

    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["hub.json", "hub.json.lock", "hub.json.prev"]


def test_a_second_process_view_sees_learners_added_by_the_first(tmp_path):
    server_view = HubState(tmp_path / "hub.json")
    command_view = HubState(tmp_path / "hub.json")
    group = command_view.add_class("1A")
    learner = command_view.add_learner(group["id"], "Номин", "apple")

    # A miss re-reads the file at most once a second.
    time.sleep(1.1)

    assert server_view.learner_exists(learner["id"])


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_bad_class_names_are_refused_with_a_reason(tmp_path, name):
    state = HubState(tmp_path / "hub.json")

    with pytest.raises(StateError, match="class name"):
        state.add_class(name)
    assert state.classes() == []


def test_two_classes_cannot_share_a_name(tmp_path):
    state = HubState(tmp_path / "hub.json")
    state.add_class("1A")

    with pytest.raises(StateError, match="already exists"):
        state.add_class(" 1A ")


def test_two_processes_adding_learners_in_turn_see_each_other_and_never_clash(
    tmp_path,
):
    server_view = HubState(tmp_path / "hub.json")
    command_view = HubState(tmp_path / "hub.json")
    group = server_view.add_class("1A")
    assert server_view.learners(group["id"]) == []

    command_view.add_learner(group["id"], "Номин", "apple")
    server_view.add_learner(group["id"], "Болд", "bus")
    command_view.add_learner(group["id"], "Сарнай", "rocket")

    for view in (server_view, command_view):
        names = [row["name"] for row in view.learners(group["id"])]
        assert names == ["Болд", "Номин", "Сарнай"]


def test_a_class_list_is_added_in_one_write_with_distinct_ids(tmp_path):
    state = HubState(tmp_path / "hub.json")
    group = state.add_class("1A")

    added = state.add_learners(group["id"], [("Номин", "bus"), ("Болд", "kite")])

    assert len({learner["id"] for learner in added}) == 2
    assert [row["name"] for row in state.learners(group["id"])] == ["Болд", "Номин"]


def test_invisible_and_control_characters_are_taken_out_of_names(tmp_path):
    state = HubState(tmp_path / "hub.json")
    group = state.add_class("1\u202eA\x00")

    with pytest.raises(StateError, match="empty"):
        state.add_learner(group["id"], "\u200b\u200b", "bus")
    learner = state.add_learner(group["id"], "Но\u200bмин\x07", "bus")

    assert group["name"] == "1A"
    assert learner["name"] == "Номин"
