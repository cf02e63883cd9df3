# SPDX-License-Identifier: AGPL-3.0-or-later
"""Installing lesson packs: what is refused, what is kept, what a crash leaves.

Every pack here is a real folder or zip written into the test's own folder;
every refusal also checks that nothing became visible and nothing was left
in ``.incoming``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import threading
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.packs import (
    PackError,
    PackLibrary,
    content_type,
    pack_zip_from_folder,
    parse_version,
    validate_manifest,
)
from tests.support.packs import (
    list_files,
    make_guide_pack,
    make_pack,
    read_manifest,
    write_manifest,
    zip_pack,
)

BOMB_BYTES = 32 * 1024 * 1024


@pytest.fixture
def library(tmp_path):
    return PackLibrary(tmp_path / "packs")


@pytest.fixture
def pack(tmp_path):
    return make_pack(tmp_path / "source" / "test-vocab")


def refused(library: PackLibrary, source: Path) -> PackError:
    """Install ``source``, expect a refusal, check that nothing changed."""
    before = snapshot(library.packs_dir)
    with pytest.raises(PackError) as caught:
        library.install(source)

    assert snapshot(library.packs_dir) == before
    assert list((library.packs_dir / ".incoming").iterdir()) == []
    assert str(caught.value).count("\n") == 0
    return caught.value


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes, but the lock file."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and path.name != ".lock"
    }


def zip_with(pack: Path, out: Path, extra=(), without=()) -> Path:
    """The pack folder as a zip, less the names in ``without``, plus ``extra``.

    ``extra`` holds (name or ZipInfo, bytes) pairs, written as given.
    """
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(pack.rglob("*")):
            name = path.relative_to(pack).as_posix()
            if path.is_file() and name not in without:
                archive.write(path, name)
        for entry, data in extra:
            archive.writestr(entry, data)
    return out


def zip_info(name: str, file_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (file_type | 0o644) << 16
    return info


def patch_headers(zip_path: Path, name: str, *, flags=None, file_size=None):
    """Overwrite fields of one entry's headers, as a lying tool would."""
    with zipfile.ZipFile(zip_path) as archive:
        local = archive.getinfo(name).header_offset
        offset = archive.start_dir
    data = bytearray(zip_path.read_bytes())

    while data[offset : offset + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from(
            "<HHH", data, offset + 28
        )
        if data[offset + 46 : offset + 46 + name_length] == name.encode():
            break
        offset += 46 + name_length + extra_length + comment_length

    if flags is not None:
        struct.pack_into("<H", data, local + 6, flags)
        struct.pack_into("<H", data, offset + 8, flags)
    if file_size is not None:
        struct.pack_into("<I", data, local + 22, file_size)
        struct.pack_into("<I", data, offset + 24, file_size)
    zip_path.write_bytes(bytes(data))


def with_manifest(pack: Path, **changes) -> Path:
    manifest = read_manifest(pack)
    manifest.update(changes)
    write_manifest(pack, manifest)
    return pack


# Installing good packs


def test_a_pack_folder_installs_and_serves_its_listed_files(library, pack):
    installed = library.install(pack)

    assert (installed.id, installed.version, installed.kind) == (
        "test-vocab",
        "1.0.0",
        "lessons",
    )
    picture = installed.file("media/pictures/horse.svg")
    assert picture.path.read_bytes() == (pack / "media/pictures/horse.svg").read_bytes()
    assert picture.content_type == "image/svg+xml"
    assert installed.file("media/audio/en/horse.wav").content_type == "audio/wav"
    manifest = installed.file("pack.json")
    assert manifest.path.read_bytes() == (pack / "pack.json").read_bytes()
    assert manifest.content_type == "application/json"
    assert installed.size == sum(f.stat().st_size for f in pack.rglob("*.*"))


def test_an_installed_pack_serves_nothing_but_its_manifest_and_listed_files(
    library, pack
):
    installed = library.install(pack)
    (installed.root / "notes.txt").write_text("left by hand")

    assert installed.file("notes.txt") is None
    assert installed.file("../1.0.0.installed") is None
    assert installed.file("media/pictures/../pictures/horse.svg") is None
    assert installed.file("/etc/passwd") is None
    assert installed.file("media/pictures") is None


def test_an_installed_pack_has_a_zip_holding_exactly_the_pack(library, pack):
    installed = library.install(pack)

    with zipfile.ZipFile(installed.zip_path) as archive:
        names = archive.namelist()
        assert names[0] == "pack.json"
        assert sorted(names[1:]) == sorted(entry["path"] for entry in list_files(pack))
        for name in names:
            assert archive.read(name) == (pack / name).read_bytes()
    zip_file = installed.zip_file()
    assert zip_file.size == installed.zip_path.stat().st_size
    assert zip_file.content_type == "application/zip"


def test_the_installed_zip_is_the_one_pack_zip_from_folder_makes(
    library, pack, tmp_path
):
    installed = library.install(pack)
    pack_zip_from_folder(pack, tmp_path / "published.zip")

    assert installed.zip_path.read_bytes() == (tmp_path / "published.zip").read_bytes()


def test_a_zip_with_ascii_names_and_no_utf8_flag_installs(library, pack, tmp_path):
    source = zip_pack(pack, tmp_path / "pack.zip")
    with zipfile.ZipFile(source) as archive:
        assert not any(info.flag_bits & 0x800 for info in archive.infolist())

    assert library.install(source).version == "1.0.0"


def test_a_zip_with_everything_under_one_top_folder_installs(library, pack, tmp_path):
    source = zip_pack(pack, tmp_path / "pack.zip", top_folder="test-vocab")

    installed = library.install(source)

    assert installed.file("media/pictures/cow.svg") is not None
    assert not (installed.root / "test-vocab").exists()


def test_a_zip_made_by_python_zipfile_cli_installs_with_its_folder_entries(
    library, pack, tmp_path
):
    source = tmp_path / "pack.zip"
    zipfile.main(["-c", str(source), str(pack)])
    with zipfile.ZipFile(source) as archive:
        assert any(name.endswith("/") for name in archive.namelist())

    assert library.install(source).id == "test-vocab"


def test_a_zip_with_utf8_cyrillic_file_names_installs(library, pack, tmp_path):
    (pack / "media/pictures/horse.svg").rename(pack / "media/pictures/морь.svg")
    manifest = read_manifest(pack)
    manifest["words"][0]["picture"] = "media/pictures/морь.svg"
    manifest["files"] = list_files(pack)
    write_manifest(pack, manifest)

    installed = library.install(zip_pack(pack, tmp_path / "pack.zip"))

    assert installed.file("media/pictures/морь.svg").size > 0


def test_a_manifest_saved_with_a_byte_order_mark_installs(library, pack):
    text = (pack / "pack.json").read_text(encoding="utf-8")
    (pack / "pack.json").write_text(text, encoding="utf-8-sig")

    assert library.install(pack).id == "test-vocab"


def test_a_guide_pack_installs(library, tmp_path):
    installed = library.install(make_guide_pack(tmp_path / "guide"))

    assert installed.kind == "guide"
    assert installed.manifest["guides"][0]["id"] == "vocabulary-session"


# Versions


def test_versions_compare_as_numbers_so_1_10_is_newer_than_1_9(library, tmp_path):
    for version in ("1.9.3", "1.10.0", "1.2.0"):
        library.install(make_pack(tmp_path / version, version=version))

    assert [p.version for p in library.versions("test-vocab")] == [
        "1.2.0",
        "1.9.3",
        "1.10.0",
    ]
    assert library.newest("test-vocab").version == "1.10.0"
    assert library.get("test-vocab", "1.9.3").version == "1.9.3"
    assert library.get("test-vocab", "1.9.4") is None
    assert parse_version("1.10.0") > parse_version("1.9.3")


def test_the_catalog_lists_the_newest_version_of_each_pack(library, tmp_path):
    library.install(make_pack(tmp_path / "a", version="1.0.0"))
    library.install(make_pack(tmp_path / "b", version="2.0.0"))
    library.install(make_guide_pack(tmp_path / "guide"))

    assert [(p.id, p.version) for p in library.catalog()] == [
        ("test-guide", "1.0.0"),
        ("test-vocab", "2.0.0"),
    ]
    assert library.newest("no-such-pack") is None
    assert library.versions("no-such-pack") == []


def test_installing_the_same_version_again_changes_nothing(library, pack, tmp_path):
    first = library.install(pack)
    before = snapshot(library.packs_dir)

    again = library.install(zip_pack(pack, tmp_path / "same.zip", top_folder="x"))

    assert again == first
    assert snapshot(library.packs_dir) == before


def test_same_version_with_other_content_is_refused_and_the_installed_one_kept(
    library, pack
):
    library.install(pack)
    with_manifest(pack, title={"mn": "Өөр нэр", "en": "Another title"})

    error = refused(library, pack)

    assert error.field == "version"
    assert "already installed with other content" in error.message
    assert "1.0.1" in error.message
    assert library.newest("test-vocab").manifest["title"]["en"] == "Herd animals"


def test_a_removed_version_is_gone_and_the_others_stay(library, tmp_path):
    library.install(make_pack(tmp_path / "a", version="1.0.0"))
    newer = library.install(make_pack(tmp_path / "b", version="1.1.0"))

    library.remove("test-vocab", "1.1.0")

    assert library.newest("test-vocab").version == "1.0.0"
    assert not newer.root.exists() and not newer.zip_path.exists()
    library.remove("test-vocab", "1.0.0")
    assert library.catalog() == []
    assert not (library.packs_dir / "test-vocab").exists()


def test_removing_a_version_that_is_not_installed_is_refused(library, pack):
    library.install(pack)

    with pytest.raises(PackError) as caught:
        library.remove("test-vocab", "9.9.9")

    assert "9.9.9 is not installed" in str(caught.value)
    assert "1.0.0" in str(caught.value)


# Zips that try to escape, or hold what is not a plain file


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "media/../../evil.txt"],
)
def test_zip_with_parent_path_is_refused_and_nothing_installed(
    library, pack, tmp_path, name
):
    source = zip_with(pack, tmp_path / "pack.zip", extra=[(name, b"owned")])

    error = refused(library, source)

    assert error.member == name
    assert "'..'" in error.message
    assert not (tmp_path / "evil.txt").exists()
    assert not (library.packs_dir / "evil.txt").exists()


def test_zip_with_absolute_path_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    target = tmp_path / "evil.txt"
    source = zip_with(pack, tmp_path / "pack.zip", extra=[(str(target), b"owned")])

    error = refused(library, source)

    assert error.member == str(target)
    assert "absolute" in error.message
    assert not target.exists()


@pytest.mark.parametrize("name", ["C:\\evil.txt", "C:/evil.txt", "c:evil.txt"])
def test_zip_with_drive_letter_path_is_refused_and_nothing_installed(
    library, pack, tmp_path, name
):
    source = zip_with(pack, tmp_path / "pack.zip", extra=[(name, b"owned")])

    error = refused(library, source)

    assert error.member == name
    assert "drive letter" in error.message or "backslash" in error.message


def test_zip_with_backslash_path_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    name = "media\\pictures\\horse.svg"
    source = zip_with(pack, tmp_path / "pack.zip", extra=[(name, b"<svg/>")])

    error = refused(library, source)

    assert error.member == name
    assert "backslash" in error.message


def test_zip_with_symlink_entry_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    link = zip_info("media/pictures/horse.svg", stat.S_IFLNK)
    source = zip_with(
        pack,
        tmp_path / "pack.zip",
        extra=[(link, b"/etc/passwd")],
        without={"media/pictures/horse.svg"},
    )

    error = refused(library, source)

    assert error.member == "media/pictures/horse.svg"
    assert "symbolic link" in error.message


def test_zip_with_device_entry_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    device = zip_info("media/console", stat.S_IFCHR)
    source = zip_with(pack, tmp_path / "pack.zip", extra=[(device, b"")])

    error = refused(library, source)

    assert error.member == "media/console"
    assert "not a plain file" in error.message


def test_zip_with_directory_entry_named_like_a_file_is_refused(library, pack, tmp_path):
    folder = zip_info("media/pictures/horse.svg", stat.S_IFDIR)
    source = zip_with(
        pack,
        tmp_path / "pack.zip",
        extra=[(folder, b"")],
        without={"media/pictures/horse.svg"},
    )

    error = refused(library, source)

    assert error.member == "media/pictures/horse.svg"
    assert "marked as a folder" in error.message


def test_zip_with_an_entry_twice_is_refused_as_more_entries_than_declared(
    library, pack, tmp_path
):
    with warnings.catch_warnings():
        # zipfile warns "Duplicate name", which is the point here.
        warnings.simplefilter("ignore", UserWarning)
        source = zip_with(
            pack, tmp_path / "pack.zip", extra=[("media/pictures/cow.svg", b"moo")]
        )

    error = refused(library, source)

    assert error.member == "media/pictures/cow.svg"
    assert "twice" in error.message


def test_zip_with_more_entries_than_declared_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    extra = [(f"media/extra-{n}.txt", b"x") for n in range(3)]
    source = zip_with(pack, tmp_path / "pack.zip", extra=extra)

    error = refused(library, source)

    assert error.member == "media/extra-0.txt"
    assert error.field == "files"
    assert "holds 7 files, files lists 4" in error.message


def test_zip_with_non_utf8_entry_name_is_refused_with_advice_to_repack(
    library, pack, tmp_path
):
    # An old Windows tool writes the name in its code page without the flag.
    source = zip_with(
        pack, tmp_path / "pack.zip", extra=[("media/QZQZ.svg", b"<svg/>")]
    )
    data = source.read_bytes()
    source.write_bytes(data.replace(b"QZQZ", "морь".encode("cp866")))

    error = refused(library, source)

    assert error.member.startswith("media/\\x")
    assert "not UTF-8" in error.message
    assert "python3 -m zipfile -c" in error.message


def test_zip_with_encrypted_entry_is_refused(library, pack, tmp_path):
    source = zip_pack(pack, tmp_path / "pack.zip")
    patch_headers(source, "media/pictures/cow.svg", flags=0x1)

    error = refused(library, source)

    assert error.member == "media/pictures/cow.svg"
    assert "encrypted" in error.message


def test_zip_without_pack_json_is_refused(library, pack, tmp_path):
    source = zip_with(pack, tmp_path / "pack.zip", without={"pack.json"})

    error = refused(library, source)

    assert error.member == "pack.json"
    assert "missing" in error.message


def test_zip_with_two_top_folders_is_refused_as_having_no_pack_json(
    library, pack, tmp_path
):
    source = zip_pack(pack, tmp_path / "pack.zip", top_folder="test-vocab")
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr("other/readme.txt", "hello")

    error = refused(library, source)

    assert error.member == "pack.json"


def test_a_file_that_is_not_a_zip_is_refused(library, tmp_path):
    source = tmp_path / "pack.zip"
    source.write_bytes(b"this is not a zip file\n" * 10)

    error = refused(library, source)

    assert error.path == source
    assert "not a readable zip" in error.message


def test_a_path_that_does_not_exist_is_refused(library, tmp_path):
    error = refused(library, tmp_path / "nowhere.zip")

    assert "neither a folder nor a zip" in error.message


# Zip bombs and lying sizes


def bomb_pack(pack: Path, tmp_path: Path, declared: int = 1000) -> Path:
    """A zip whose media/filler.bin holds more than its declared size."""
    (pack / "media/filler.bin").write_bytes(b"\0" * declared)
    with_manifest(pack, files=list_files(pack))
    return zip_with(
        pack,
        tmp_path / "bomb.zip",
        extra=[("media/filler.bin", b"\0" * BOMB_BYTES)],
        without={"media/filler.bin"},
    )


def filler_index(pack: Path) -> int:
    paths = [entry["path"] for entry in read_manifest(pack)["files"]]
    return paths.index("media/filler.bin")


def test_zip_bomb_entry_larger_than_declared_is_refused_at_the_declared_size(
    library, pack, tmp_path
):
    source = bomb_pack(pack, tmp_path)
    assert source.stat().st_size < BOMB_BYTES / 100

    error = refused(library, source)

    assert error.member == "media/filler.bin"
    assert error.field == f"files[{filler_index(pack)}].size"
    assert "more than the 1000 bytes" in error.message


def test_zip_whose_header_understates_the_size_is_refused(library, pack, tmp_path):
    # The header agrees with pack.json, so only reading can find the lie.
    source = bomb_pack(pack, tmp_path)
    patch_headers(source, "media/filler.bin", file_size=1000)

    error = refused(library, source)

    assert error.member == "media/filler.bin"
    assert "cannot be read" in error.message


def test_zip_whose_header_overstates_the_size_is_read_no_further_than_declared(
    library, pack, tmp_path
):
    source = bomb_pack(pack, tmp_path)
    patch_headers(source, "media/filler.bin", file_size=0x7FFFFFFF)

    error = refused(library, source)

    assert error.member == "media/filler.bin"
    assert "more than the 1000 bytes" in error.message


def test_a_pack_declaring_more_than_the_size_limit_is_refused_before_reading(
    library, pack
):
    manifest = read_manifest(pack)
    manifest["files"][0]["size"] = 3 * 1024**3
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.member == "pack.json"
    assert error.field == "files"
    assert "3.0 GiB" in error.message
    assert "at most 2.0 GiB" in error.message


def test_the_size_limit_is_a_setting_of_the_library(tmp_path, pack):
    small = PackLibrary(tmp_path / "packs", max_pack_bytes=1000)

    error = refused(small, pack)

    assert "at most 1000 bytes" in error.message


def test_a_pack_that_would_eat_into_the_disk_reserve_is_refused(tmp_path, pack):
    full = PackLibrary(tmp_path / "packs", reserve_bytes=2**62)

    error = refused(full, pack)

    assert error.member is None
    assert "free for learners' results" in error.message
    assert "remove old pack versions" in error.message


# Folders with what is not a plain file


def test_folder_with_symlinked_file_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    outside = tmp_path / "outside.svg"
    shutil.move(pack / "media/pictures/horse.svg", outside)
    os.symlink(outside, pack / "media/pictures/horse.svg")

    error = refused(library, pack)

    assert error.member == "media/pictures/horse.svg"
    assert "symbolic link" in error.message


def test_folder_with_symlinked_folder_is_refused_and_nothing_installed(
    library, pack, tmp_path
):
    shutil.move(pack / "media/audio", tmp_path / "audio")
    os.symlink(tmp_path / "audio", pack / "media/audio")

    error = refused(library, pack)

    assert error.member == "media/audio"
    assert "symbolic link" in error.message


def test_folder_with_a_fifo_is_refused_without_reading_it(library, pack):
    os.mkfifo(pack / "media/pipe")

    error = refused(library, pack)

    assert error.member == "media/pipe"
    assert "not a plain file" in error.message


def test_folder_where_a_listed_file_is_a_folder_is_refused(library, pack):
    (pack / "media/pictures/cow.svg").unlink()
    (pack / "media/pictures/cow.svg").mkdir()

    error = refused(library, pack)

    assert error.member == "media/pictures/cow.svg"
    assert "is a folder" in error.message


def test_folder_with_non_utf8_file_name_is_refused(library, pack):
    name = os.fsencode(pack / "media") + b"/" + "морь".encode("cp1251") + b".svg"
    with open(name, "wb") as stream:
        stream.write(b"<svg/>")

    error = refused(library, pack)

    assert error.member.startswith("media/\\x")
    assert "not UTF-8" in error.message


def test_folder_with_backslash_in_a_file_name_is_refused(library, pack):
    (pack / "media" / "a\\b.svg").write_bytes(b"<svg/>")

    error = refused(library, pack)

    assert error.member == "media/a\\b.svg"
    assert "backslash" in error.message


def test_folder_without_pack_json_is_refused_with_a_hint(library, pack):
    parent = pack.parent

    error = refused(library, parent)

    assert error.member == "pack.json"
    assert str(pack) in error.message


# Files that do not match the manifest


def test_a_listed_file_that_is_missing_is_refused(library, pack):
    (pack / "media/pictures/camel.svg").unlink()

    error = refused(library, pack)

    assert error.member == "media/pictures/camel.svg"
    assert error.field == "files[1].path"
    assert "not in the pack" in error.message


def test_an_unlisted_file_is_refused(library, pack):
    (pack / "media/pictures/Thumbs.db").write_bytes(b"windows")

    error = refused(library, pack)

    assert error.member == "media/pictures/Thumbs.db"
    assert error.field == "files"
    assert "not listed in files" in error.message


def test_a_file_with_the_wrong_sha256_is_refused(library, pack):
    picture = pack / "media/pictures/cow.svg"
    picture.write_bytes(picture.read_bytes().replace(b"#222222", b"#ffffff"))

    error = refused(library, pack)

    assert error.member == "media/pictures/cow.svg"
    assert error.field == "files[2].sha256"
    assert "SHA-256" in error.message


def test_a_file_shorter_than_declared_is_refused(library, pack):
    sound = pack / "media/audio/en/horse.wav"
    sound.write_bytes(sound.read_bytes()[:100])

    error = refused(library, pack)

    assert error.member == "media/audio/en/horse.wav"
    assert error.field == "files[0].size"
    assert "has 100 bytes" in error.message


def test_a_file_longer_than_declared_is_refused(library, pack):
    with open(pack / "media/audio/en/horse.wav", "ab") as sound:
        sound.write(b"\0" * 10)

    error = refused(library, pack)

    assert error.field == "files[0].size"
    assert "more than" in error.message


# Manifests


def test_a_manifest_that_is_not_json_is_refused(library, pack):
    (pack / "pack.json").write_text('{"format": 1,,}', encoding="utf-8")

    error = refused(library, pack)

    assert error.member == "pack.json"
    assert "not valid JSON" in error.message
    assert "line 1" in error.message


def test_a_manifest_that_is_not_utf8_is_refused(library, pack):
    text = (pack / "pack.json").read_text(encoding="utf-8")
    (pack / "pack.json").write_bytes(text.encode("cp1251", errors="replace"))

    error = refused(library, pack)

    assert error.member == "pack.json"
    assert "not UTF-8" in error.message
    assert "save it as UTF-8" in error.message


def test_a_manifest_with_a_field_twice_is_refused(library, pack):
    text = (pack / "pack.json").read_text(encoding="utf-8")
    (pack / "pack.json").write_text(
        text.replace('"format": 1,', '"format": 1, "format": 1,'), encoding="utf-8"
    )

    error = refused(library, pack)

    assert error.field == "format"
    assert "twice" in error.message


def test_a_manifest_missing_a_field_is_refused_naming_it(library, pack):
    manifest = read_manifest(pack)
    del manifest["version"]
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert (error.member, error.field) == ("pack.json", "version")
    assert "missing" in error.message
    assert "pack.json, field version" in str(error)


def test_a_manifest_field_of_the_wrong_type_is_refused_naming_it(library, pack):
    error = refused(library, with_manifest(pack, age_range="3-8"))

    assert error.field == "age_range"
    assert "'3-8'" in error.message


def test_a_misspelt_manifest_field_is_refused_not_ignored(library, pack):
    error = refused(library, with_manifest(pack, descripton={"en": "typo"}))

    assert error.field == "descripton"
    assert "spelling" in error.message


@pytest.mark.parametrize("pack_id", ["Vocab", "x", "-vocab", "vocab_early", "vö"])
def test_a_manifest_with_a_bad_id_is_refused(library, pack, pack_id):
    error = refused(library, with_manifest(pack, id=pack_id))

    assert error.field == "id"


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-beta", "1.٠.0"])
def test_a_manifest_with_a_bad_version_is_refused(library, pack, version):
    error = refused(library, with_manifest(pack, version=version))

    assert error.field == "version"
    assert "MAJOR.MINOR.PATCH" in error.message


def test_a_manifest_for_a_newer_format_asks_for_a_newer_hub(library, pack):
    error = refused(library, with_manifest(pack, format=2))

    assert error.field == "format"
    assert "newer hub" in error.message


def test_a_lessons_pack_missing_a_language_in_a_text_is_refused(library, pack):
    manifest = read_manifest(pack)
    del manifest["words"][1]["text"]["mn"]
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "words[1].text"
    assert "'mn'" in error.message


def test_an_unknown_activity_type_is_refused_and_asks_for_a_newer_hub(library, pack):
    manifest = read_manifest(pack)
    manifest["lessons"][0]["activities"][1]["type"] = "memory_game"
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "lessons[0].activities[1].type"
    assert "'memory_game'" in error.message
    assert "update the hub" in error.message


def test_an_activity_naming_a_word_the_pack_lacks_is_refused(library, pack):
    manifest = read_manifest(pack)
    manifest["lessons"][0]["activities"][0]["words"] = ["horse", "zebra", "cow"]
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "lessons[0].activities[0].words[1]"
    assert "'zebra'" in error.message


def test_a_go_word_outside_the_activity_words_is_refused(library, pack):
    manifest = read_manifest(pack)
    manifest["lessons"][0]["activities"][2]["go_word"] = "sheep"
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "lessons[0].activities[2].go_word"


def test_a_word_picture_not_listed_in_files_is_refused(library, pack):
    manifest = read_manifest(pack)
    manifest["words"][2]["picture"] = "media/pictures/zebra.svg"
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "words[2].picture"
    assert "not listed in files" in error.message


def test_a_manifest_listing_a_path_that_escapes_is_refused(library, pack):
    manifest = read_manifest(pack)
    manifest["files"][0]["path"] = "../../etc/passwd"
    write_manifest(pack, manifest)

    error = refused(library, pack)

    assert error.field == "files[0].path"
    assert "'..'" in error.message


def test_validate_manifest_names_the_source_and_field_in_one_line():
    with pytest.raises(PackError) as caught:
        validate_manifest({"format": 1, "kind": "lessons"}, "usb/vocab.zip")

    error = caught.value
    assert error.path == Path("usb/vocab.zip")
    assert error.member == "pack.json"
    assert str(error).startswith("usb/vocab.zip: pack.json, field ")
    assert "\n" not in str(error)


def test_validate_manifest_refuses_a_manifest_that_is_not_an_object():
    with pytest.raises(PackError, match="must be an object"):
        validate_manifest(["format", 1], "vocab.zip")


def test_validate_manifest_accepts_the_test_pack(pack):
    validate_manifest(read_manifest(pack), str(pack))


def test_content_types_come_from_the_extension():
    assert content_type("a/b.SVG") == "image/svg+xml"
    assert content_type("a.mp3") == "audio/mpeg"
    assert content_type("a.m4a") == "audio/mp4"
    assert content_type("a.mp4") == "video/mp4"
    assert content_type("a.jpeg") == "image/jpeg"
    assert content_type("a.txt") == "text/plain; charset=utf-8"
    assert content_type("a.html") == "application/octet-stream"


# Nothing installed changes; what a crash leaves


def test_a_failed_install_leaves_an_installed_pack_untouched(library, tmp_path):
    library.install(make_pack(tmp_path / "good", version="1.0.0"))
    broken = make_pack(tmp_path / "broken", version="1.1.0")
    (broken / "media/pictures/cow.svg").write_bytes(b"<svg>changed</svg>")

    refused(library, broken)

    assert [p.version for p in library.versions("test-vocab")] == ["1.0.0"]


def test_leftovers_in_incoming_are_removed_at_start(tmp_path, pack):
    packs_dir = tmp_path / "packs"
    PackLibrary(packs_dir).install(pack)
    (packs_dir / ".incoming/install-abc/pack/media").mkdir(parents=True)
    (packs_dir / ".incoming/install-abc/pack.zip.partial").write_bytes(b"PK")

    library = PackLibrary(packs_dir)

    assert list((packs_dir / ".incoming").iterdir()) == []
    assert library.newest("test-vocab").version == "1.0.0"


def test_partial_downloads_survive_a_restart_for_sync_to_resume(tmp_path):
    packs_dir = tmp_path / "packs"
    part = PackLibrary(packs_dir).downloads_dir / "test-vocab-1.1.0.zip.part"
    part.write_bytes(b"PK half a download")

    PackLibrary(packs_dir)

    assert part.read_bytes() == b"PK half a download"


def test_a_half_installed_version_never_shows_and_is_cleaned_at_start(tmp_path, pack):
    packs_dir = tmp_path / "packs"
    PackLibrary(packs_dir).install(pack)
    # As a power cut between the renames and the marker would leave it.
    shutil.copytree(packs_dir / "test-vocab/1.0.0", packs_dir / "test-vocab/1.1.0")
    shutil.copy(packs_dir / "test-vocab/1.0.0.zip", packs_dir / "test-vocab/1.1.0.zip")

    library = PackLibrary(packs_dir)

    assert [p.version for p in library.versions("test-vocab")] == ["1.0.0"]
    assert not (packs_dir / "test-vocab/1.1.0").exists()
    assert not (packs_dir / "test-vocab/1.1.0.zip").exists()


def test_a_version_left_half_installed_can_be_installed_again(tmp_path, pack):
    packs_dir = tmp_path / "packs"
    library = PackLibrary(packs_dir)
    installed = library.install(pack)
    (packs_dir / "test-vocab/1.0.0.installed").unlink()

    library = PackLibrary(packs_dir)
    assert library.catalog() == []
    again = library.install(pack)

    assert again.zip_path.read_bytes() == installed.zip_path.read_bytes()


def test_a_damaged_marker_hides_only_that_version(tmp_path, caplog):
    packs_dir = tmp_path / "packs"
    library = PackLibrary(packs_dir)
    library.install(make_pack(tmp_path / "a", version="1.0.0"))
    library.install(make_pack(tmp_path / "b", version="1.1.0"))
    (packs_dir / "test-vocab/1.1.0.installed").write_bytes(b"")

    library = PackLibrary(packs_dir)

    assert [p.version for p in library.versions("test-vocab")] == ["1.0.0"]
    assert "damaged" in caplog.text


# Threads and processes


def test_one_pack_installed_from_several_threads_at_once_installs_once(library, pack):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: library.install(pack), range(8)))

    assert len(set(results)) == 1
    assert [p.version for p in library.versions("test-vocab")] == ["1.0.0"]


def test_readers_never_see_a_version_before_all_its_files_are_in_place(
    library, tmp_path
):
    sources = [make_pack(tmp_path / f"v{n}", version=f"1.{n}.0") for n in range(5)]
    done = threading.Event()
    seen = set()
    problems = []

    def read_while_installing():
        while not done.is_set():
            for installed in library.versions("test-vocab"):
                seen.add(installed.version)
                if not installed.zip_path.is_file():
                    problems.append(installed.version)
                for packed in installed.files.values():
                    if not packed.path.is_file():
                        problems.append(str(packed.path))

    reader = threading.Thread(target=read_while_installing)
    reader.start()
    try:
        for source in sources:
            library.install(source)
    finally:
        done.set()
        reader.join()

    assert problems == []
    assert len(library.versions("test-vocab")) == 5


def test_a_pack_installed_by_another_process_shows_without_a_restart(library, pack):
    assert library.catalog() == []
    script = (
        "import sys; from hub.packs import PackLibrary; "
        "PackLibrary(sys.argv[1]).install(sys.argv[2])"
    )

    subprocess.run(
        [sys.executable, "-c", script, str(library.packs_dir), str(pack)],
        check=True,
        timeout=60,
    )

    assert [p.id for p in library.catalog()] == ["test-vocab"]


def test_a_removal_by_another_library_shows_in_this_one(tmp_path, pack):
    first = PackLibrary(tmp_path / "packs")
    second = PackLibrary(tmp_path / "packs")
    first.install(pack)
    assert second.newest("test-vocab") is not None

    first.remove("test-vocab", "1.0.0")

    assert second.newest("test-vocab") is None


def test_the_marker_records_the_zip_hash_the_web_layer_serves(library, pack):
    installed = library.install(pack)
    details = json.loads(
        (library.packs_dir / "test-vocab/1.0.0.installed").read_text(encoding="utf-8")
    )

    assert details["zip_sha256"] == installed.zip_sha256
    assert (
        installed.zip_sha256
        == hashlib.sha256(installed.zip_path.read_bytes()).hexdigest()
    )
