# SPDX-License-Identifier: AGPL-3.0-or-later
"""Results by USB stick: export on the hub, upload at the district, receipt back.

The commands run as a technician runs them, in child processes; the LRS is a
real Ralph. Whatever route a result takes, the LRS holds it once.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from hub.app import Hub
from hub.config import load_settings
from hub.sync import push_results
from tests.support.hub import run_cli
from tests.support.tablet import store_results


@pytest.fixture
def hub_folder(tmp_path):
    """A hub's data folder holding 7 results of one learner."""
    data_dir = tmp_path / "hub"
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(data_dir)))
    learner = hub.state.add_learner(hub.state.add_class("5A")["id"], "Туяа", "cat")
    hub.ids = store_results(hub.results, learner["id"], 7)
    hub.learner = learner
    hub.close()
    return data_dir, hub.ids


@pytest.fixture
def stick(tmp_path):
    stick = tmp_path / "usb"
    stick.mkdir()
    return stick


def district_env(lrs) -> dict:
    return {
        "CLASSROOM_HUB_LRS_URL": lrs.url,
        "CLASSROOM_HUB_LRS_USERNAME": lrs.username,
        "CLASSROOM_HUB_LRS_PASSWORD": lrs.password,
        "CLASSROOM_HUB_SYNC_BATCH_SIZE": "3",
    }


def export(data_dir, stick):
    run_cli(data_dir, "export-results", str(stick))
    [bundle] = stick.glob("results-*.zip")
    return bundle


def counts(data_dir) -> dict:
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(data_dir)))
    try:
        return hub.results.counts()
    finally:
        hub.close()


def test_results_travel_by_stick_and_the_receipt_confirms_them(
    lrs, hub_folder, stick, tmp_path
):
    data_dir, ids = hub_folder

    bundle = export(data_dir, stick)
    manifest = json.loads(zipfile.ZipFile(bundle).read("manifest.json"))
    district = run_cli(
        tmp_path / "district", "upload-bundle", str(bundle), env=district_env(lrs)
    )
    receipt = bundle.with_name(bundle.stem + ".receipt.json")
    imported = run_cli(data_dir, "import-receipt", str(receipt))

    assert manifest["count"] == 7
    assert "confirmed 7 of 7" in district.stdout
    assert "7 results marked confirmed" in imported.stdout
    assert counts(data_dir) == {"pending": 0, "confirmed": 7, "quarantined": 0}
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}
    assert [p.name for p in stick.iterdir() if p.name.startswith(".")] == []


def test_uploading_twice_or_syncing_too_stores_each_result_once(
    lrs, hub_folder, stick, tmp_path
):
    data_dir, ids = hub_folder
    bundle = export(data_dir, stick)
    env = district_env(lrs)

    run_cli(tmp_path / "district", "upload-bundle", str(bundle), env=env)
    run_cli(tmp_path / "district", "upload-bundle", str(bundle), env=env)
    # The link came back before the receipt did.
    hub = Hub.open(
        load_settings(
            environ={},
            DATA_DIR=str(data_dir),
            LRS_URL=lrs.url,
            LRS_USERNAME=lrs.username,
            LRS_PASSWORD=lrs.password,
        )
    )
    try:
        report = push_results(hub.results, hub.state.hub_id, hub.settings)
    finally:
        hub.close()

    assert report.ok and report.confirmed == 7
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}


def test_a_cut_off_bundle_is_refused_with_a_clear_message(
    lrs, hub_folder, stick, tmp_path
):
    data_dir, _ = hub_folder
    bundle = export(data_dir, stick)
    bundle.write_bytes(bundle.read_bytes()[:-200])

    refused = run_cli(
        tmp_path / "d", "upload-bundle", str(bundle), env=district_env(lrs), check=False
    )

    assert refused.returncode == 1
    assert "is not a whole bundle: it is cut off or damaged" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_bundle_changed_after_export_is_refused(lrs, hub_folder, stick, tmp_path):
    data_dir, ids = hub_folder
    bundle = export(data_dir, stick)
    with zipfile.ZipFile(bundle) as archive:
        manifest = archive.read("manifest.json")
        lines = archive.read("statements.jsonl").splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"success":false', b'"success":true')
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("statements.jsonl", b"".join(lines))
        archive.writestr("manifest.json", manifest)

    refused = run_cli(
        tmp_path / "d", "upload-bundle", str(bundle), env=district_env(lrs), check=False
    )

    assert refused.returncode == 1
    assert "was changed after the hub wrote it" in refused.stderr
    assert lrs.copies_held(ids) == {result_id: 0 for result_id in ids}


def test_a_receipt_for_another_hub_or_bundle_changes_nothing(
    lrs, hub_folder, stick, tmp_path
):
    data_dir, _ = hub_folder
    bundle = export(data_dir, stick)
    run_cli(tmp_path / "d", "upload-bundle", str(bundle), env=district_env(lrs))
    receipt_path = bundle.with_name(bundle.stem + ".receipt.json")
    receipt = json.loads(receipt_path.read_text())

    other_hub = dict(receipt, hub_id="00000000-0000-4000-8000-000000000000")
    other_bundle = dict(receipt, bundle_id="00000000-0000-4000-8000-000000000001")
    answers = []
    for name, forged in (("hub", other_hub), ("bundle", other_bundle)):
        path = tmp_path / f"{name}.receipt.json"
        path.write_text(json.dumps(forged))
        answers.append(run_cli(data_dir, "import-receipt", str(path), check=False))
    receipt_path.write_text(receipt_path.read_text()[:-40])
    answers.append(run_cli(data_dir, "import-receipt", str(receipt_path), check=False))

    assert [a.returncode for a in answers] == [1, 1, 1]
    assert "not of this hub" in answers[0].stderr
    assert "did not export" in answers[1].stderr
    assert "not a whole receipt" in answers[2].stderr
    assert counts(data_dir)["pending"] == 7


def test_export_with_nothing_waiting_says_so(tmp_path, stick):
    run_cli(tmp_path / "empty", "add-class", "1A")

    answer = run_cli(tmp_path / "empty", "export-results", str(stick), check=False)

    assert answer.returncode == 1
    assert "no result waits to be sent" in answer.stderr
    assert list(stick.iterdir()) == []
