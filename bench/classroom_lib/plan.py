# SPDX-License-Identifier: AGPL-3.0-or-later
"""What a class fetches: the page, its API calls, each lesson's media.

A plan is read once from a running hub (as the learner page would find it)
and saved as JSON. The same plan drives tablets against Kolibri, with every
API call turned into Kolibri's cheapest public JSON call and every media
file into the same bytes in Kolibri's content storage, so both servers see
the same number of requests at the same moments. Plans are plain data;
building one sends a handful of requests.
"""

from __future__ import annotations

import json
import re

from .client import Connection, Recorder

BENCH_CLASS = "Bench 1A"
KOLIBRI_API = "/api/public/info/"


def read_plan(base_url: str, class_name: str = BENCH_CLASS) -> dict:
    """Ask a running hub what its learner page would fetch for one class."""
    conn = Connection(base_url, Recorder())
    try:
        return _read_plan(conn, class_name)
    finally:
        conn.close()


def _read_plan(conn: Connection, class_name: str) -> dict:
    page = _get(conn, "/").decode()
    assets = sorted(set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page)))
    version = re.search(r"\?v=([^\"&]+)", page)
    mark = f"?v={version.group(1)}" if version else ""

    classes = json.loads(_get(conn, "/api/v1/classes"))["classes"]
    found = [group for group in classes if group["name"] == class_name]
    group = (found or classes)[0]
    learners = [learner["id"] for learner in group["learners"]]
    pictures = [
        f"/static/pictures/{learner['picture']}.svg{mark}"
        for learner in group["learners"]
    ]

    lessons_url = f"/api/v1/classes/{group['id']}/lessons"
    listed = json.loads(_get(conn, lessons_url))["lessons"]
    manifests = {}
    lessons = []
    for entry in listed:
        url = entry["manifest_url"]
        if url not in manifests:
            manifests[url] = json.loads(_get(conn, url))
        lessons.append(_lesson(entry, manifests[url]))

    video = None
    for pack in json.loads(_get(conn, "/api/v1/packs"))["packs"]:
        manifest = json.loads(_get(conn, pack["manifest_url"]))
        for listed_file in manifest.get("files", []):
            if listed_file["path"].endswith(".mp4"):
                base = pack["manifest_url"].rsplit("/", 1)[0]
                video = {
                    "url": f"{base}/{listed_file['path']}",
                    "size": listed_file["size"],
                }

    return {
        "target": "hub",
        "page": "/",
        "assets": assets,
        "classes": "/api/v1/classes",
        "catalog": "/api/v1/packs",
        "lessons_list": lessons_url,
        "learners": learners,
        "sign_in_pictures": pictures,
        "lessons": lessons,
        "results": "/api/v1/results",
        "video": video,
    }


def _lesson(entry: dict, manifest: dict) -> dict:
    base = entry["manifest_url"].rsplit("/", 1)[0] + "/"
    words = {word["id"]: word for word in manifest.get("words", [])}
    lesson = next(
        item for item in manifest["lessons"] if item["id"] == entry["lesson_id"]
    )
    pictures, audio, activities = [], [], []
    for activity in lesson["activities"]:
        used = [words[word] for word in activity.get("words", []) if word in words]
        language = activity.get("language")
        activities.append(
            {
                "id": activity["id"],
                "type": activity["type"],
                "language": language,
                "words": [word["id"] for word in used],
            }
        )
        for word in used:
            if word.get("picture") and base + word["picture"] not in pictures:
                pictures.append(base + word["picture"])
            sound = (word.get("audio") or {}).get(language)
            if sound and base + sound not in audio:
                audio.append(base + sound)
    return {
        "manifest": entry["manifest_url"],
        "pack_id": entry["pack_id"],
        "pack_version": entry["pack_version"],
        "lesson_id": entry["lesson_id"],
        "activities": activities,
        "pictures": pictures,
        "audio": audio,
    }


def _get(conn: Connection, path: str) -> bytes:
    answer = conn.fetch("plan", path)
    if answer is None:
        raise RuntimeError(
            f"the hub did not answer {path}: {conn.recorder.error_samples[-1:]}"
        )
    return answer[2]


def media_paths(plan: dict) -> list[str]:
    """Every picture, sound and video the plan fetches."""
    paths = list(plan["sign_in_pictures"])
    for lesson in plan["lessons"]:
        for url in lesson["pictures"] + lesson["audio"]:
            if url not in paths:
                paths.append(url)
    if plan.get("video"):
        paths.append(plan["video"]["url"])
    return paths


def kolibri_plan(plan: dict, media_map: dict) -> dict:
    """The same class against Kolibri: its cheapest API, the same files.

    ``media_map`` maps each hub media URL to the URL of the same bytes in
    Kolibri's content storage. Kolibri takes no anonymous results, so a
    results batch becomes one more call of its cheapest API.
    """
    mapped = json.loads(json.dumps(plan))
    mapped["target"] = "kolibri"
    mapped["assets"] = []
    for key in ("classes", "catalog", "lessons_list"):
        mapped[key] = KOLIBRI_API
    mapped["sign_in_pictures"] = [media_map[url] for url in plan["sign_in_pictures"]]
    for lesson in mapped["lessons"]:
        lesson["manifest"] = KOLIBRI_API
        lesson["pictures"] = [media_map[url] for url in lesson["pictures"]]
        lesson["audio"] = [media_map[url] for url in lesson["audio"]]
    mapped["results"] = None
    if plan.get("video"):
        mapped["video"] = dict(plan["video"], url=media_map[plan["video"]["url"]])
    return mapped
