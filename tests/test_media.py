# SPDX-License-Identifier: AGPL-3.0-or-later
"""Pack files over real HTTP: validators, byte ranges, caching and types."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest


@pytest.fixture
def audio(hub_server):
    """(url, bytes, sha256) of one English recording in the vocabulary pack."""
    packs = hub_server.get("/api/v1/packs").json()["packs"]
    pack = next(p for p in packs if p["kind"] == "lessons")
    manifest = hub_server.get(pack["manifest_url"]).json()
    entry = next(f for f in manifest["files"] if f["path"].endswith(".wav"))
    url = pack["manifest_url"].rsplit("/", 1)[0] + "/" + entry["path"]
    body = hub_server.get(url).content
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]
    return url, body, entry["sha256"]


def test_a_pack_file_is_served_whole_with_validators_and_long_caching(
    hub_server, audio
):
    url, body, sha256 = audio

    answer = hub_server.get(url)

    assert answer.status_code == 200
    assert answer.content == body
    assert answer.headers["Content-Type"] == "audio/wav"
    assert answer.headers["ETag"] == f'"{sha256}"'
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert "immutable" in answer.headers["Cache-Control"]
    assert int(answer.headers["Content-Length"]) == len(body)


def test_a_matching_if_none_match_gets_304_without_a_body(hub_server, audio):
    url, _body, sha256 = audio

    answer = hub_server.get(url, headers={"If-None-Match": f'"other", "{sha256}"'})

    assert answer.status_code == 304
    assert answer.content == b""


@pytest.mark.parametrize(
    "header, start, end",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", None, None)],
)
def test_a_range_gets_206_with_exact_headers(hub_server, audio, header, start, end):
    url, body, _sha = audio
    size = len(body)
    if start is None:
        start, end = size - 50, size - 1
    elif end is None:
        end = size - 1

    answer = hub_server.get(url, headers={"Range": header})

    assert answer.status_code == 206
    assert answer.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert int(answer.headers["Content-Length"]) == end - start + 1
    assert answer.content == body[start : end + 1]


def test_a_range_past_the_end_is_cut_to_the_file(hub_server, audio):
    url, body, _sha = audio

    answer = hub_server.get(url, headers={"Range": f"bytes=10-{len(body) * 2}"})

    assert answer.status_code == 206
    assert answer.content == body[10:]


def test_an_unsatisfiable_range_gets_416_with_the_size(hub_server, audio):
    url, body, _sha = audio

    for header in (f"bytes={len(body)}-", "bytes=-0"):
        answer = hub_server.get(url, headers={"Range": header})
        assert answer.status_code == 416, header
        assert answer.headers["Content-Range"] == f"bytes */{len(body)}"


def test_several_ranges_or_bad_syntax_get_the_whole_file(hub_server, audio):
    url, body, _sha = audio

    for header in ("bytes=0-1,5-9", "bytes=abc", "lines=1-2", "bytes=9-2"):
        answer = hub_server.get(url, headers={"Range": header})
        assert answer.status_code == 200, header
        assert answer.content == body


def test_if_range_with_an_old_etag_gets_the_whole_file(hub_server, audio):
    url, body, sha256 = audio

    stale = hub_server.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    fresh = hub_server.get(
        url, headers={"Range": "bytes=0-9", "If-Range": f'"{sha256}"'}
    )

    assert stale.status_code == 200 and stale.content == body
    assert fresh.status_code == 206 and fresh.content == body[:10]


def test_head_gives_headers_without_a_body(hub_server, audio):
    import requests

    url, body, _sha = audio

    answer = requests.head(hub_server.url(url), timeout=10)

    assert answer.status_code == 200
    assert int(answer.headers["Content-Length"]) == len(body)
    assert answer.content == b""


def test_pictures_and_manifests_have_their_own_types(hub_server):
    pack = next(
        p
        for p in hub_server.get("/api/v1/packs").json()["packs"]
        if p["kind"] == "lessons"
    )
    manifest_answer = hub_server.get(pack["manifest_url"])
    svg = next(
        f["path"] for f in manifest_answer.json()["files"] if f["path"].endswith(".svg")
    )

    picture = hub_server.get(pack["manifest_url"].rsplit("/", 1)[0] + "/" + svg)

    assert manifest_answer.headers["Content-Type"].startswith("application/json")
    assert picture.headers["Content-Type"] == "image/svg+xml"


def test_the_whole_pack_downloads_as_one_zip_that_resumes(hub_server):
    pack = next(
        p
        for p in hub_server.get("/api/v1/packs").json()["packs"]
        if p["kind"] == "lessons"
    )

    whole = hub_server.get(pack["download_url"])
    tail = hub_server.get(pack["download_url"], headers={"Range": "bytes=1000-"})

    assert whole.status_code == 200
    assert whole.headers["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''" in whole.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(whole.content)).namelist()
    assert "pack.json" in names
    assert tail.status_code == 206
    assert whole.content[:1000] + tail.content == whole.content


def test_the_newest_version_is_found_by_pack_id(hub_server):
    pack = hub_server.get("/api/v1/packs").json()["packs"][0]

    answer = hub_server.get(f"/api/v1/packs/{pack['id']}", allow_redirects=False)

    assert answer.status_code == 307
    assert answer.headers["Location"].endswith(pack["manifest_url"])


@pytest.mark.parametrize(
    "path",
    [
        "/packs/vocab-early-mn-en/1.0.0/../../hub.json",
        "/packs/vocab-early-mn-en/1.0.0/%2e%2e/%2e%2e/hub.json",
        "/packs/vocab-early-mn-en/9.9.9/pack.json",
        "/packs/vocab-early-mn-en/1.0.0/not-listed.txt",
        "/packs/../hub.json",
    ],
)
def test_paths_outside_a_pack_are_not_found(hub_server, path):
    import requests

    # requests would tidy the dots away; send the path as written.
    session = requests.Session()
    prepared = requests.Request("GET", hub_server.url("/")).prepare()
    prepared.url = hub_server.base_url + path
    answer = session.send(prepared, timeout=10)

    assert answer.status_code == 404
    assert b"hub_id" not in answer.content
