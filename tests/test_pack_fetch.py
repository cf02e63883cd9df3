# SPDX-License-Identifier: AGPL-3.0-or-later
"""Packs down through a breaking, metered link, and from a USB stick.

A file server on 127.0.0.1 publishes a catalog; a fault proxy in front of it
cuts, corrupts and counts the bytes, as a modem bill would.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import wave
from datetime import UTC, datetime

import pytest

from hub.catalog import pack_zip_from_folder, write_catalog
from hub.config import load_settings
from hub.pack_fetch import import_catalog_folder, pull_catalog, retire_old_versions
from hub.packs import PackLibrary
from hub.state import HubState
from hub.sync_ledger import SyncLedger
from hub.sync_windows import ByteMeter
from hub.teacher.assignments import assign_lessons
from hub.uplink import Uplink
from tests.support.fakeclock import FakeClock
from tests.support.faultproxy import FaultProxy
from tests.support.packs import (
    PACK_ID,
    list_files,
    make_pack,
    read_manifest,
    write_manifest,
)
from tests.support.webservers import file_server

ZIP_NAME = f"{PACK_ID}-1.1.0.zip"


def noise_wav(frames: int) -> bytes:
    """Seconds of hiss that no zip can shrink, so the pack stays large."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(random.Random(frames).randbytes(2 * frames))
    return buffer.getvalue()


def big_pack(folder, version):
    """A pack of some 300 kB, so that 40 % of it is a real amount of bytes."""
    make_pack(folder, version=version)
    (folder / "media/audio/en/horse.wav").write_bytes(noise_wav(150_000))
    manifest = read_manifest(folder)
    manifest["files"] = list_files(folder)
    write_manifest(folder, manifest)
    return folder


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Zips of versions 1.0.0 and 1.1.0, to be served."""
    site = tmp_path_factory.mktemp("published")
    work = tmp_path_factory.mktemp("work")
    for version in ("1.0.0", "1.1.0"):
        folder = big_pack(work / version, version)
        pack_zip_from_folder(folder, site / f"{PACK_ID}-{version}.zip")
    return site


@pytest.fixture
def site(published, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(published, site)
    return site


@pytest.fixture
def proxy(site):
    with file_server(site) as server, FaultProxy(server.url) as proxy:
        write_catalog(site, proxy.url)
        proxy.server = server
        yield proxy


@pytest.fixture
def library(tmp_path):
    return PackLibrary(tmp_path / "packs", reserve_bytes=0)


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 12, 7, 1, 20, tzinfo=UTC))


@pytest.fixture
def state(tmp_path):
    state = HubState(tmp_path / "hub.json")
    yield state
    state.close()


def settings_for(tmp_path, proxy, **more):
    values = dict(
        DATA_DIR=str(tmp_path),
        CATALOG_URL=proxy.url + "catalog.json",
        SYNC_TIMEOUT_S=5,
        SYNC_RETRIES=0,
    )
    values.update(more)
    return load_settings(environ={}, **values)


def pull(library, settings, clock, meter=None, state=None, ledger=None):
    uplink = Uplink(settings, meter, clock)
    try:
        return pull_catalog(
            library, settings, uplink=uplink, ledger=ledger, state=state
        )
    finally:
        uplink.close()


def zip_bytes_sent(proxy) -> int:
    return proxy.bytes_answered(".zip")


def test_a_download_cut_at_40_percent_resumes_and_fetches_only_the_rest(
    tmp_path, site, proxy, clock
):
    size = (site / ZIP_NAME).stat().st_size
    cut = int(size * 0.4)
    proxy.fail_next("cut_body", cut, match=".zip")
    settings = settings_for(tmp_path, proxy)

    first = pull(PackLibrary(tmp_path / "packs", reserve_bytes=0), settings, clock)

    part = tmp_path / "packs/.downloads" / ZIP_NAME
    assert "cut off" in first.problems[0]
    assert part.stat().st_size == cut
    proxy.clear()

    # A new library, as after a reboot.
    library = PackLibrary(tmp_path / "packs", reserve_bytes=0)
    second = pull(library, settings, clock)

    assert second.installed == [f"{PACK_ID} 1.1.0"], second.problems
    assert proxy.server.ranges[-1] == f"bytes={cut}-"
    assert size - cut <= zip_bytes_sent(proxy) <= size - cut + 1024
    assert library.newest(PACK_ID).version == "1.1.0"
    assert not part.exists()


def test_a_corrupted_download_is_never_installed(tmp_path, site, proxy, clock, library):
    proxy.fail_next("corrupt", 1000, match=".zip")
    settings = settings_for(tmp_path, proxy)

    broken = pull(library, settings, clock)

    assert broken.problems == [
        f"{PACK_ID} 1.1.0: the download's SHA-256 does not match the catalog; discarded"
    ]
    assert library.newest(PACK_ID) is None
    assert list(library.downloads_dir.iterdir()) == []

    assert pull(library, settings, clock).installed == [f"{PACK_ID} 1.1.0"]


def test_a_damaged_partial_download_is_discarded_not_installed(
    tmp_path, site, proxy, clock, library
):
    data = (site / ZIP_NAME).read_bytes()
    (library.downloads_dir / ZIP_NAME).write_bytes(b"X" + data[1 : len(data) // 3])
    settings = settings_for(tmp_path, proxy)

    report = pull(library, settings, clock)

    assert "SHA-256 does not match" in report.problems[0]
    assert library.newest(PACK_ID) is None


def test_the_byte_budget_spreads_a_download_over_days(tmp_path, site, proxy, clock):
    size = (site / ZIP_NAME).stat().st_size
    settings = settings_for(tmp_path, proxy, SYNC_BUDGET_DAY_BYTES=size // 2)
    state = HubState(tmp_path / "hub.json")
    ledger = SyncLedger(state)
    library = PackLibrary(tmp_path / "packs", reserve_bytes=0)

    def meter():
        return ByteMeter(ledger, clock, settings.SYNC_BUDGET_DAY_BYTES, 0)

    days = []
    for _ in range(4):
        budget = meter()
        report = pull(library, settings, clock, budget, state, ledger)
        budget.flush()
        days.append((report.installed, report.waiting_for_budget, budget.used))
        if report.installed:
            break
        clock.advance(24 * 3600)
    state.close()

    assert [installed for installed, _, _ in days] == [[], [], [f"{PACK_ID} 1.1.0"]]
    assert all(waiting for _, waiting, _ in days[:2])
    # Each day keeps within its budget; the proxy saw what the meter counted.
    assert all(used <= size // 2 for _, _, used in days)
    assert (
        abs(
            sum(used for _, _, used in days)
            - proxy.bytes_to_client
            - proxy.bytes_from_client
        )
        < 0.02 * size
    )


def test_the_bandwidth_cap_paces_each_transfer(tmp_path, site, proxy, clock, library):
    size = (site / ZIP_NAME).stat().st_size
    rate = 50_000
    settings = settings_for(tmp_path, proxy, SYNC_MAX_BYTES_PER_S=rate)
    started = clock.monotonic()

    report = pull(library, settings, clock)

    assert report.installed == [f"{PACK_ID} 1.1.0"]
    taken = clock.monotonic() - started
    assert size / rate * 0.95 <= taken <= (size + 10_000) / rate * 1.05


def test_a_pack_is_not_fetched_without_room_above_the_reserve(tmp_path, proxy, clock):
    library = PackLibrary(tmp_path / "packs", reserve_bytes=10**15)

    report = pull(library, settings_for(tmp_path, proxy), clock)

    assert "disk space" in report.problems[0]
    assert zip_bytes_sent(proxy) == 0


def test_an_old_version_goes_once_no_assignment_needs_it(
    tmp_path, site, proxy, clock, library, state
):
    library.install(site / f"{PACK_ID}-1.0.0.zip")
    group = state.add_class("2A")
    assign_lessons(state, group["id"], [(PACK_ID, "herd-animals")])

    report = pull(library, settings_for(tmp_path, proxy), clock, state=state)

    # The new version has the assigned lesson too, so the old one can go.
    assert report.removed == [f"{PACK_ID} 1.0.0"]
    assert [pack.version for pack in library.versions(PACK_ID)] == ["1.1.0"]


def test_an_old_version_stays_while_an_assignment_needs_a_lesson_only_it_has(
    tmp_path, site, library, state
):
    library.install(site / f"{PACK_ID}-1.0.0.zip")
    newer = big_pack(tmp_path / "newer", "1.2.0")
    manifest = read_manifest(newer)
    manifest["lessons"][0]["id"] = "herd-animals-2"
    write_manifest(newer, manifest)
    library.install(newer)
    group = state.add_class("2B")
    assign_lessons(state, group["id"], [(PACK_ID, "herd-animals")])

    removed = retire_old_versions(library, state, PACK_ID)

    assert removed == []
    assert [pack.version for pack in library.versions(PACK_ID)] == ["1.0.0", "1.2.0"]


def test_packs_come_from_a_usb_stick_with_the_same_checks(tmp_path, site, library):
    stick = tmp_path / "stick"
    shutil.copytree(site, stick)
    write_catalog(stick, "https://packs.example.mn/v1/")

    report = import_catalog_folder(library, stick)

    assert report.installed == [f"{PACK_ID} 1.1.0"], report.problems
    assert library.newest(PACK_ID).version == "1.1.0"


def test_a_tampered_zip_on_a_usb_stick_is_refused(tmp_path, site, library):
    stick = tmp_path / "stick"
    shutil.copytree(site, stick)
    write_catalog(stick, "https://packs.example.mn/v1/")
    damaged = bytearray((stick / ZIP_NAME).read_bytes())
    damaged[500] ^= 0xFF
    (stick / ZIP_NAME).write_bytes(bytes(damaged))

    report = import_catalog_folder(library, stick)

    assert report.installed == []
    assert "SHA-256 does not match" in report.problems[0]
    assert library.newest(PACK_ID) is None


def test_a_stick_without_a_catalog_says_so(tmp_path, library):
    (tmp_path / "empty").mkdir()

    report = import_catalog_folder(library, tmp_path / "empty")

    assert report.problems[0].startswith("cannot read ")
    assert json.dumps(report.problems)  # plain words, no objects
