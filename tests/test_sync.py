# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sync against a real Ralph LRS and a real catalog server, all on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile

import pytest
import requests

from hub.app import Hub
from hub.catalog import pack_zip_from_folder, write_catalog
from hub.config import load_settings
from hub.packs import PackLibrary
from hub.results import ResultStore
from hub.state import HubState
from hub.sync import pull_catalog, push_results, run_sync
from hub.xapi import statement_for, validate_statement
from tests.support.packs import PACK_ID, make_pack
from tests.support.tablet import make_result
from tests.support.webservers import (
    closed_port,
    fake_server,
    file_server,
    silent_server,
    tls_server,
)


@pytest.fixture
def state(tmp_path):
    state = HubState(tmp_path / "hub.json")
    yield state
    state.close()


@pytest.fixture
def learner(state):
    """A learner with a real name, which must never leave the hub."""
    class_id = state.add_class("1A")["id"]
    return state.add_learner(class_id, "Болд Батбаяр", "horse")


@pytest.fixture
def store(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite3")
    yield store
    store.close()


@pytest.fixture
def settings(lrs, tmp_path):
    return load_settings(
        environ={},
        DATA_DIR=str(tmp_path),
        LRS_URL=lrs.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
        SYNC_TIMEOUT_S=10,
        SYNC_BATCH_SIZE=3,
        # Tries again wait in real time; tests of them drive a fake clock.
        SYNC_RETRIES=0,
    )


def add_results(store, learner, count: int) -> list[str]:
    records = [make_result(learner["id"]) for _ in range(count)]
    answer = store.add_batch(records, known_learner=lambda _: True)
    assert not answer.rejected
    return answer.accepted


def held_by_lrs(lrs, ids) -> dict:
    by_id = lrs.statements_by_id()
    return {result_id: len(by_id.get(result_id, [])) for result_id in ids}


def post_to_lrs(lrs, statements) -> requests.Response:
    return requests.post(
        lrs.url + "statements",
        json=statements,
        auth=(lrs.username, lrs.password),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=30,
    )


# Push


def test_pushed_results_reach_the_lrs_once_each(lrs, store, state, learner, settings):
    ids = add_results(store, learner, 8)

    report = push_results(store, state.hub_id, settings)

    assert report.ok, report.problem
    assert report.confirmed == 8
    assert store.counts()["pending"] == 0
    assert held_by_lrs(lrs, ids) == {result_id: 1 for result_id in ids}


def test_syncing_again_sends_nothing_twice(lrs, store, state, learner, settings):
    first_ids = add_results(store, learner, 4)
    push_results(store, state.hub_id, settings)
    later_ids = add_results(store, learner, 2)

    again = push_results(store, state.hub_id, settings)
    idle = push_results(store, state.hub_id, settings)

    assert (again.confirmed, idle.confirmed) == (2, 0)
    assert held_by_lrs(lrs, first_ids + later_ids) == {
        result_id: 1 for result_id in first_ids + later_ids
    }


def test_results_the_lrs_already_holds_are_confirmed_not_doubled(
    lrs, store, state, learner, settings
):
    # As after a crash between the LRS's answer and marking them confirmed.
    ids = add_results(store, learner, 3)
    statements = [
        statement_for(result, state.hub_id, settings)
        for result in store.pending(limit=10)
    ]
    assert post_to_lrs(lrs, statements).status_code == 200

    report = push_results(store, state.hub_id, settings)

    assert report.ok, report.problem
    assert report.confirmed == 3
    assert held_by_lrs(lrs, ids) == {result_id: 1 for result_id in ids}


def test_statements_in_the_lrs_are_valid_and_name_no_learner(
    lrs, store, state, learner, settings
):
    ids = add_results(store, learner, 3)

    push_results(store, state.hub_id, settings)
    by_id = lrs.statements_by_id()

    for result_id in ids:
        [statement] = by_id[result_id]
        assert validate_statement(statement) == []
        text = json.dumps(statement, ensure_ascii=False)
        assert learner["name"] not in text
        assert "Болд" not in text
        account = statement["actor"]["account"]["name"]
        assert account == f"{state.hub_id}/{learner['id']}"


def test_a_wrong_password_is_a_plain_failure_and_confirms_nothing(
    lrs, store, state, learner, settings
):
    ids = add_results(store, learner, 2)
    wrong = settings.replace(LRS_PASSWORD="not-the-password")

    report = push_results(store, state.hub_id, wrong)

    assert not report.ok
    assert "credentials" in report.problem
    assert "LRS_PASSWORD" in report.problem
    assert "Traceback" not in report.problem
    assert report.confirmed == 0
    assert store.counts()["pending"] == 2
    assert held_by_lrs(lrs, ids) == {result_id: 0 for result_id in ids}


def test_a_statement_the_lrs_refuses_is_set_aside_and_the_rest_sent(
    lrs, store, state, learner, settings
):
    ids = add_results(store, learner, 5)
    # The LRS already holds other content under the third result's id.
    clash = statement_for(store.pending(limit=10)[2], state.hub_id, settings)
    clash["result"] = {"success": True, "response": "camel"}
    assert post_to_lrs(lrs, [clash]).status_code == 200

    report = push_results(store, state.hub_id, settings)

    assert report.ok, report.problem
    assert report.confirmed == 4
    assert [item["id"] for item in report.quarantined] == [ids[2]]
    assert "409" in report.quarantined[0]["reason"]
    assert store.counts() == {"pending": 0, "confirmed": 4, "quarantined": 1}


def test_nothing_is_set_aside_when_the_lrs_refuses_everything(
    store, state, learner, settings
):
    add_results(store, learner, 4)

    with fake_server(status=400, body=b'{"detail": "nope"}') as url:
        report = push_results(store, state.hub_id, settings.replace(LRS_URL=url))

    assert "refused" in report.problem
    assert report.quarantined == []
    assert store.counts()["pending"] == 4


@pytest.mark.parametrize(
    ("status", "headers", "body", "words"),
    [
        (
            200,
            {"Content-Type": "text/html"},
            b"<html>Log in to Wi-Fi</html>",
            "captive portal",
        ),
        (
            200,
            {"Content-Type": "application/json"},
            b'[{"id": 1}]',
            "not with statement ids",
        ),
        (302, {"Location": "http://portal.example/login"}, b"", "redirected"),
        (503, {"Content-Type": "text/plain"}, b"down for maintenance", "503"),
    ],
)
def test_an_answer_that_is_not_an_lrs_confirms_nothing(
    store, state, learner, settings, status, headers, body, words
):
    add_results(store, learner, 2)

    with fake_server(status, body, headers) as url:
        report = push_results(store, state.hub_id, settings.replace(LRS_URL=url))

    assert not report.ok
    assert words in report.problem
    assert store.counts()["pending"] == 2


def test_an_unreachable_lrs_is_named_in_plain_words(store, state, learner, settings):
    add_results(store, learner, 1)
    url = f"http://127.0.0.1:{closed_port()}/xAPI/"

    report = push_results(store, state.hub_id, settings.replace(LRS_URL=url))

    assert report.problem.startswith("could not reach the LRS at 127.0.0.1:")
    assert store.counts()["pending"] == 1


def test_an_lrs_url_without_a_scheme_is_named_as_the_fault(
    store, state, learner, settings
):
    add_results(store, learner, 1)

    report = push_results(
        store, state.hub_id, settings.replace(LRS_URL="lrs.example.mn/xAPI/")
    )

    assert report.problem == (
        "'lrs.example.mn/xAPI/statements' is not a usable http(s) address for the LRS"
    )


def test_a_silent_lrs_times_out(store, state, learner, settings):
    add_results(store, learner, 1)
    quiet = settings.replace(SYNC_TIMEOUT_S=1)

    with silent_server() as url:
        started = time.monotonic()
        report = push_results(store, state.hub_id, quiet.replace(LRS_URL=url))

    assert time.monotonic() - started < 5
    assert "did not answer in time" in report.problem
    assert store.counts()["pending"] == 1


def test_tls_certificates_are_always_checked(store, state, learner, settings, tmp_path):
    add_results(store, learner, 1)

    with tls_server(tmp_path) as url:
        report = push_results(store, state.hub_id, settings.replace(LRS_URL=url))

    assert report.problem.startswith("the TLS check of 127.0.0.1:")
    assert store.counts()["pending"] == 1


def test_without_an_lrs_url_results_wait(store, state, learner, settings):
    add_results(store, learner, 2)

    report = push_results(store, state.hub_id, settings.replace(LRS_URL=""))

    assert report.skipped == "LRS_URL is not set"
    assert report.pending == 2


def test_the_test_lrs_listens_only_on_loopback(lrs):
    port = int(lrs.url.split(":")[2].split("/")[0])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:
                    listening.append(address)

    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


# Pull


@pytest.fixture
def library(tmp_path):
    return PackLibrary(tmp_path / "packs", reserve_bytes=0)


@pytest.fixture
def site(tmp_path):
    """A folder served over HTTP with versions 1.0.0 and 1.1.0 of a pack."""
    site = tmp_path / "site"
    site.mkdir()
    for version in ("1.0.0", "1.1.0"):
        folder = make_pack(tmp_path / f"pack-{version}", version=version)
        pack_zip_from_folder(folder, site / f"{PACK_ID}-{version}.zip")
    return site


@pytest.fixture
def pack_server(site):
    with file_server(site) as server:
        write_catalog(site, server.url)
        yield server


def catalog_settings(tmp_path, url, **more):
    return load_settings(
        environ={},
        DATA_DIR=str(tmp_path),
        CATALOG_URL=url,
        SYNC_TIMEOUT_S=10,
        SYNC_RETRIES=0,
        **more,
    )


def edit_catalog(site, change) -> None:
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    for entry in catalog["packs"]:
        change(entry)
    (site / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")


def test_a_newer_pack_in_the_catalog_is_installed(tmp_path, site, library, pack_server):
    library.install(site / f"{PACK_ID}-1.0.0.zip")
    settings = catalog_settings(tmp_path, pack_server.url + "catalog.json")

    report = pull_catalog(library, settings)

    assert report.ok, report.problems
    assert report.installed == [f"{PACK_ID} 1.1.0"]
    assert library.newest(PACK_ID).version == "1.1.0"
    assert pack_server.requested == ["/catalog.json", f"/{PACK_ID}-1.1.0.zip"]
    assert list(library.downloads_dir.iterdir()) == []


def test_pulling_again_fetches_only_the_catalog(tmp_path, library, pack_server):
    settings = catalog_settings(tmp_path, pack_server.url + "catalog.json")
    pull_catalog(library, settings)
    pack_server.requested.clear()

    again = pull_catalog(library, settings)

    assert (again.installed, again.up_to_date) == ([], 1)
    assert pack_server.requested == ["/catalog.json"]


def test_a_pack_whose_sha256_differs_is_never_installed(
    tmp_path, site, library, pack_server
):
    edit_catalog(site, lambda entry: entry.update(sha256="0" * 64))
    settings = catalog_settings(tmp_path, pack_server.url + "catalog.json")

    report = pull_catalog(library, settings)

    assert report.installed == []
    assert report.problems == [
        f"{PACK_ID} 1.1.0: the download's SHA-256 does not match the catalog; discarded"
    ]
    assert library.newest(PACK_ID) is None
    assert list(library.downloads_dir.iterdir()) == []


def test_a_download_longer_than_the_catalog_says_is_cut_and_refused(
    tmp_path, site, library, pack_server
):
    edit_catalog(site, lambda entry: entry.update(size=entry["size"] - 100))
    settings = catalog_settings(tmp_path, pack_server.url + "catalog.json")

    report = pull_catalog(library, settings)

    assert "size does not match" in report.problems[0]
    assert library.newest(PACK_ID) is None


def test_pack_urls_may_be_relative_to_the_catalog(tmp_path, site, library):
    with file_server(site) as server:
        write_catalog(site, server.url)
        edit_catalog(site, lambda entry: entry.update(url=entry["url"].rsplit("/")[-1]))
        settings = catalog_settings(tmp_path, server.url + "catalog.json")

        report = pull_catalog(library, settings)

    assert report.installed == [f"{PACK_ID} 1.1.0"]


def test_an_interrupted_download_resumes_where_it_stopped(
    tmp_path, site, library, pack_server
):
    data = (site / f"{PACK_ID}-1.1.0.zip").read_bytes()
    half = len(data) // 2
    (library.downloads_dir / f"{PACK_ID}-1.1.0.zip").write_bytes(data[:half])
    settings = catalog_settings(tmp_path, pack_server.url + "catalog.json")

    report = pull_catalog(library, settings)

    assert report.installed == [f"{PACK_ID} 1.1.0"]
    assert pack_server.ranges == [f"bytes={half}-"]


def test_a_pack_the_hub_refuses_is_not_fetched_again(tmp_path, site, library):
    broken = site / "broken-1.0.0.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("pack.json", "{not json")
    data = broken.read_bytes()
    entry = {
        "id": "broken",
        "version": "1.0.0",
        "url": broken.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (site / "catalog.json").write_text(json.dumps({"format": 1, "packs": [entry]}))

    with file_server(site) as server:
        settings = catalog_settings(tmp_path, server.url + "catalog.json")
        first = pull_catalog(library, settings)
        second = pull_catalog(library, settings)

    assert first.problems[0].startswith("broken 1.0.0: downloaded but refused: ")
    assert second.problems == first.problems
    assert server.requested == ["/catalog.json", "/broken-1.0.0.zip", "/catalog.json"]


def test_a_catalog_that_is_a_web_page_is_a_plain_failure(tmp_path, library):
    with fake_server(200, b"<html>Log in</html>", {"Content-Type": "text/html"}) as url:
        settings = catalog_settings(tmp_path, url)

        report = pull_catalog(library, settings)

    assert report.problems == [
        f"the catalog at {url} is not JSON; a captive portal may be in the way"
    ]


def test_run_sync_sends_results_and_fetches_packs(lrs, tmp_path, pack_server):
    settings = catalog_settings(
        tmp_path,
        pack_server.url + "catalog.json",
        LRS_URL=lrs.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
    )
    hub = Hub.open(settings)
    try:
        class_id = hub.state.add_class("2B")["id"]
        learner = hub.state.add_learner(class_id, "Сараа", "cow")
        ids = add_results(hub.results, learner, 2)

        report = run_sync(hub)
    finally:
        hub.close()

    assert report.ok, report.summary()
    assert report.summary().splitlines() == [
        "results: 2 confirmed by the LRS, 0 still waiting",
        f"packs: installed {PACK_ID} 1.1.0; 0 already up to date",
    ]
    assert json.loads(json.dumps(report.as_json()))["ok"] is True
    assert held_by_lrs(lrs, ids) == {result_id: 1 for result_id in ids}
