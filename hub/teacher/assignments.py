# SPDX-License-Identifier: AGPL-3.0-or-later
"""Which lessons each class sees on its tablets, and in what order.

A class's assignment is a list of ``(pack_id, lesson_id)`` kept in the
hub's state under the key ``class_lessons/<class id>``. It names no pack version, so a
newer version of a pack keeps the teacher's choice. A class without an
assignment sees every lesson of every installed lessons pack, as the
tablet API documents. ``follow_assignment`` is what the tablet API calls.

Reads and writes go through ``HubState``'s lock; safe from any thread.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from . import _, bp, pack_text, page, problem, the_hub


def _key(class_id: str) -> str:
    return f"class_lessons/{class_id}"


def assigned_lessons(state, class_id: str) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in state.get(_key(class_id), [])]


def assign_lessons(state, class_id: str, lessons: list[tuple[str, str]]) -> None:
    state.put(_key(class_id), [list(pair) for pair in lessons])


def follow_assignment(state, class_id: str, lessons: list[dict]) -> list[dict]:
    """The lessons (dicts with ``pack_id`` and ``lesson_id``) a class sees."""
    chosen = assigned_lessons(state, class_id)
    if not chosen:
        return lessons
    by_key = {(lesson["pack_id"], lesson["lesson_id"]): lesson for lesson in lessons}
    followed = [by_key[key] for key in chosen if key in by_key]
    # Should every chosen lesson's pack be gone, children would face an
    # empty tablet; every lesson is the kinder fallback until the teacher
    # chooses again (the assignment page says which are missing).
    return followed or lessons


def installed_lessons(packs) -> list[dict]:
    """Every lesson of the newest version of each installed lessons pack."""
    found = []
    for pack in packs.catalog():
        if pack.kind != "lessons":
            continue
        for lesson in pack.manifest.get("lessons", []):
            found.append(
                {
                    "pack_id": pack.id,
                    "pack_version": pack.version,
                    "lesson_id": lesson["id"],
                    "title": lesson["title"],
                    "pack_title": pack.manifest["title"],
                    "activities": lesson.get("activities", []),
                }
            )
    return found


def class_lessons(hub, class_id: str) -> list[dict]:
    return follow_assignment(hub.state, class_id, installed_lessons(hub.packs))


@bp.route("/classes/<class_id>/lessons", methods=["GET", "POST"])
def assignment(class_id: str):
    hub = the_hub()
    group = hub.state.get_class(class_id)
    if group is None:
        return problem(404, _("There is no such class. Open Classes."))
    every = installed_lessons(hub.packs)

    if request.method == "POST":
        if request.form.get("action") == "all":
            assign_lessons(hub.state, class_id, [])
            flash(_("{name} now sees every lesson.", name=group["name"]))
        else:
            chosen = _chosen_from_form(every)
            assign_lessons(hub.state, class_id, chosen)
            if chosen:
                flash(
                    _(
                        "Saved. The tablets of {name} show {count} lesson(s).",
                        name=group["name"],
                        count=len(chosen),
                    )
                )
            else:
                flash(
                    _(
                        "No lesson was ticked, so {name} sees every lesson.",
                        name=group["name"],
                    )
                )
        return redirect(url_for("teacher.assignment", class_id=class_id))

    chosen = assigned_lessons(hub.state, class_id)
    position = {key: index + 1 for index, key in enumerate(chosen)}
    installed = {(lesson["pack_id"], lesson["lesson_id"]) for lesson in every}
    rows = sorted(
        every,
        key=lambda lesson: (
            position.get((lesson["pack_id"], lesson["lesson_id"]), len(every) + 1),
        ),
    )
    return page(
        "assignment.html",
        group=group,
        lessons=rows,
        position=position,
        missing=[key for key in chosen if key not in installed],
        pack_text=pack_text,
    )


def _chosen_from_form(every: list[dict]) -> list[tuple[str, str]]:
    ticked = []
    for index, lesson in enumerate(every):
        key = f"{lesson['pack_id']}/{lesson['lesson_id']}"
        if request.form.get(f"show:{key}") != "1":
            continue
        try:
            order = int(request.form.get(f"order:{key}", ""))
        except ValueError:
            # A blank order puts the lesson after those with a number,
            # in the order the pack lists it.
            order = 10_000
        ticked.append((order, index, (lesson["pack_id"], lesson["lesson_id"])))
    return [key for _order, _index, key in sorted(ticked)]
