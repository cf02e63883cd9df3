# SPDX-License-Identifier: AGPL-3.0-or-later
"""Publishing packs: zips made from folders and the catalog listing them."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from hub.catalog import build_catalog, pack_zip_from_folder, write_catalog
from hub.packs import PackError, PackLibrary
from tests.support.packs import make_guide_pack, make_pack, zip_pack

BASE_URL = "https://packs.example.mn/v1/"


@pytest.fixture
def site(tmp_path):
    """A folder to publish: a lessons pack and a guide pack, zipped."""
    site = tmp_path / "site"
    site.mkdir()
    pack_zip_from_folder(make_pack(tmp_path / "vocab"), site / "test-vocab-1.0.0.zip")
    pack_zip_from_folder(
        make_guide_pack(tmp_path / "guide"), site / "test-guide-1.0.0.zip"
    )
    return site


def test_the_catalog_lists_every_pack_zip_with_its_url_size_and_hash(site):
    catalog = build_catalog(site, BASE_URL)

    assert catalog["format"] == 1
    assert [(p["id"], p["version"]) for p in catalog["packs"]] == [
        ("test-guide", "1.0.0"),
        ("test-vocab", "1.0.0"),
    ]
    vocab = catalog["packs"][1]
    data = (site / "test-vocab-1.0.0.zip").read_bytes()
    assert vocab == {
        "id": "test-vocab",
        "version": "1.0.0",
        "kind": "lessons",
        "title": {"mn": "Малын амьтад", "en": "Herd animals"},
        "languages": ["mn", "en"],
        "age_range": [3, 8],
        "url": "https://packs.example.mn/v1/test-vocab-1.0.0.zip",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_the_catalog_says_when_it_was_made_with_a_time_zone(site):
    generated = datetime.fromisoformat(build_catalog(site, BASE_URL)["generated_at"])

    assert generated.utcoffset() is not None


def test_a_base_url_without_a_final_slash_still_names_the_zip_under_it(site):
    catalog = build_catalog(site, "https://packs.example.mn/v1")

    assert catalog["packs"][0]["url"] == (
        "https://packs.example.mn/v1/test-guide-1.0.0.zip"
    )


def test_a_zip_name_with_spaces_or_cyrillic_is_percent_encoded(site):
    (site / "test-guide-1.0.0.zip").rename(site / "Багш guide.zip")

    url = build_catalog(site, BASE_URL)["packs"][0]["url"]

    assert url == BASE_URL + "%D0%91%D0%B0%D0%B3%D1%88%20guide.zip"


@pytest.mark.parametrize("base_url", ["packs.example.mn/v1", "ftp://x/", "https://"])
def test_a_base_url_that_is_not_http_is_refused(site, base_url):
    with pytest.raises(ValueError, match="must be an https:// URL"):
        build_catalog(site, base_url)


def test_an_empty_folder_gives_an_empty_catalog(tmp_path):
    assert build_catalog(tmp_path, BASE_URL)["packs"] == []


def test_a_broken_zip_in_the_folder_is_refused_naming_the_zip_and_member(
    site, tmp_path
):
    broken = make_pack(tmp_path / "broken", id="broken-pack")
    (broken / "media/pictures/cow.svg").write_bytes(b"<svg>changed</svg>")
    zip_pack(broken, site / "broken-pack-1.0.0.zip")

    with pytest.raises(PackError) as caught:
        build_catalog(site, BASE_URL)

    assert caught.value.path == site / "broken-pack-1.0.0.zip"
    assert caught.value.member == "media/pictures/cow.svg"
    assert "broken-pack-1.0.0.zip: media/pictures/cow.svg" in str(caught.value)


def test_two_zips_of_the_same_pack_version_are_refused(site):
    copy = site / "test-vocab-copy.zip"
    copy.write_bytes((site / "test-vocab-1.0.0.zip").read_bytes())

    with pytest.raises(PackError) as caught:
        build_catalog(site, BASE_URL)

    assert caught.value.field == "version"
    assert "test-vocab-1.0.0.zip" in caught.value.message


def test_write_catalog_replaces_catalog_json_whole_and_leaves_no_temporary(site):
    (site / "catalog.json").write_text('{"old": true}', encoding="utf-8")

    path = write_catalog(site, BASE_URL)

    assert path == site / "catalog.json"
    written = json.loads(path.read_text(encoding="utf-8"))
    assert [p["id"] for p in written["packs"]] == ["test-guide", "test-vocab"]
    assert "Малын амьтад" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in site.iterdir()) == [
        "catalog.json",
        "test-guide-1.0.0.zip",
        "test-vocab-1.0.0.zip",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_build_leaves_the_old_catalog_in_place(site):
    write_catalog(site, BASE_URL)
    before = (site / "catalog.json").read_bytes()
    (site / "junk.zip").write_bytes(b"not a zip")

    with pytest.raises(PackError):
        write_catalog(site, BASE_URL)

    assert (site / "catalog.json").read_bytes() == before


# Pack zips made from folders


def test_a_folder_gives_the_same_zip_bytes_every_time(tmp_path):
    first = make_pack(tmp_path / "first")
    second = make_pack(tmp_path / "second")
    for path in second.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    os.chmod(second / "media/pictures/cow.svg", 0o600)

    pack_zip_from_folder(first, tmp_path / "first.zip")
    pack_zip_from_folder(second, tmp_path / "second.zip")

    assert (tmp_path / "first.zip").read_bytes() == (
        tmp_path / "second.zip"
    ).read_bytes()


def test_a_pack_zip_has_sorted_entries_fixed_dates_and_utf8_names(tmp_path):
    pack = make_pack(tmp_path / "pack")

    pack_zip_from_folder(pack, tmp_path / "pack.zip")

    with zipfile.ZipFile(tmp_path / "pack.zip") as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names[0] == "pack.json"
    assert names[1:] == sorted(names[1:])
    assert all(not name.endswith("/") for name in names)
    for info in infos:
        assert info.flag_bits & 0x800, info.filename
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644


def test_a_pack_zip_stores_already_compressed_media_without_deflating(tmp_path):
    pack = make_pack(tmp_path / "pack")
    (pack / "media/pictures/photo.jpg").write_bytes(os.urandom(2000))
    make_pack(pack)  # lists the photo in files

    pack_zip_from_folder(pack, tmp_path / "pack.zip")

    with zipfile.ZipFile(tmp_path / "pack.zip") as archive:
        assert archive.getinfo("media/pictures/photo.jpg").compress_type == (
            zipfile.ZIP_STORED
        )
        assert archive.getinfo("pack.json").compress_type == zipfile.ZIP_DEFLATED


def test_a_folder_that_is_not_a_valid_pack_gives_no_zip(tmp_path):
    pack = make_pack(tmp_path / "pack")
    (pack / "stray.txt").write_text("not listed")
    out = tmp_path / "pack.zip"

    with pytest.raises(PackError) as caught:
        pack_zip_from_folder(pack, out)

    assert caught.value.member == "stray.txt"
    assert list(tmp_path.glob("pack.zip*")) == []


def test_a_published_zip_installs_on_a_hub_as_the_same_bytes(site, tmp_path):
    library = PackLibrary(tmp_path / "hub-packs")

    installed = library.install(site / "test-vocab-1.0.0.zip")

    published = (site / "test-vocab-1.0.0.zip").read_bytes()
    assert installed.zip_path.read_bytes() == published
    assert installed.zip_sha256 == build_catalog(site, BASE_URL)["packs"][1]["sha256"]


def test_pack_zip_from_folder_refuses_a_zip_as_its_folder(site, tmp_path):
    with pytest.raises(PackError, match="is not a folder"):
        pack_zip_from_folder(site / "test-vocab-1.0.0.zip", tmp_path / "out.zip")


def test_the_zip_name_does_not_have_to_follow_the_pack_id(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    pack_zip_from_folder(make_pack(tmp_path / "pack"), site / "anything.zip")

    assert Path(build_catalog(site, BASE_URL)["packs"][0]["url"]).name == (
        "anything.zip"
    )
