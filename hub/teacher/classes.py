# SPDX-License-Identifier: AGPL-3.0-or-later
"""Classes and learners on the teacher page: create, edit, import, archive.

Each learner has a sign-in picture that no other learner of the class has
(``hub.pictures`` hands out the next free one), since a child finds
themself by picture, not by name. Moving or restoring a learner into a
class where their picture is taken gives them a free one, and says so.

Learners are never deleted: their results refer to them. Archived learners
leave the tablets' lists and come back with their results when restored.
Changes go through ``HubState`` and its lock; safe from any thread.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from .. import pictures
from ..state import StateError
from . import _, bp, page, problem, the_hub
from .class_list import ListRefused, read_class_list
from .tables import Table, csv_response, wants_csv


# XXX HubState has no way to change a class or learner after adding it, so
# the helpers below write its tables directly under its lock. The proper
# fix is HubState.update_learner and HubState.rename_class, used from here.
def find_record(table_name: str, record_id: str) -> dict | None:
    state = the_hub().state
    with state.locked():
        row = state.table(table_name).get(lambda row: row["id"] == record_id)
    return None if row is None else dict(row)


def _change(table_name: str, record_id: str, **changes) -> None:
    state = the_hub().state
    with state.locked():
        state.table(table_name).update(changes, lambda row: row["id"] == record_id)


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise StateError("name")
    return name


def _class_or_404(class_id: str):
    group = the_hub().state.get_class(class_id)
    if group is None:
        return None, problem(404, _("There is no such class. Open Classes."))
    return group, None


def _learner_or_404(learner_id: str):
    learner = find_record("learners", learner_id)
    if learner is None:
        return None, problem(404, _("There is no such learner. Open Classes."))
    return learner, None


def taken_pictures(class_id: str, but: str | None = None) -> set[str]:
    return {
        row["picture"] for row in the_hub().state.learners(class_id) if row["id"] != but
    }


@bp.get("/classes")
def classes():
    state = the_hub().state
    # One read of every learner, rather than one read of the state file
    # per class: the file is parsed whole on each read.
    with state.locked():
        everyone = state.table("learners").all()
    counts: dict[str, int] = {}
    for learner in everyone:
        if not learner["archived"]:
            counts[learner["class_id"]] = counts.get(learner["class_id"], 0) + 1

    table = Table("classes", [("name", _("Class")), ("learners", _("Learners"))])
    archived = []
    for group in state.classes(include_archived=True):
        if group["archived"]:
            archived.append(group)
            continue
        table.rows.append(
            {
                "id": group["id"],
                "name": group["name"],
                "learners": counts.get(group["id"], 0),
            }
        )
    if wants_csv():
        return csv_response(table, _("classes"))
    return page("classes.html", table=table, archived=archived)


@bp.post("/classes")
def add_class():
    try:
        group = the_hub().state.add_class(request.form.get("name", ""))
    except StateError as error:
        flash(_class_problem(error))
        return redirect(url_for("teacher.classes"))
    flash(_("Class {name} created. Now add its learners.", name=group["name"]))
    return redirect(url_for("teacher.class_page", class_id=group["id"]))


def _class_problem(error: StateError) -> str:
    if "already exists" in str(error):
        return _("A class with this name exists already.")
    return _("Give a class name of 1 to 80 characters.")


@bp.get("/classes/<class_id>")
def class_page(class_id: str):
    group, missing = _class_or_404(class_id)
    if missing:
        return missing

    state = the_hub().state
    everyone = state.learners(class_id, include_archived=True)
    table = Table(
        f"learners-{group['name']}",
        [("name", _("Name")), ("picture", _("Picture"))],
        [row for row in everyone if not row["archived"]],
    )
    if wants_csv():
        return csv_response(table, _("learners") + "-" + group["name"])
    return page(
        "class.html",
        group=group,
        table=table,
        archived=[row for row in everyone if row["archived"]],
        other_classes=[c for c in state.classes() if c["id"] != class_id],
    )


@bp.post("/classes/<class_id>/rename")
def rename_class(class_id: str):
    group, missing = _class_or_404(class_id)
    if missing:
        return missing
    state = the_hub().state
    try:
        name = _clean_name(request.form.get("name", ""))
        with state.locked():
            if any(
                c["name"] == name and c["id"] != class_id
                for c in state.classes(include_archived=True)
            ):
                raise StateError("already exists")
            _change("classes", class_id, name=name)
    except StateError as error:
        flash(_class_problem(error))
    else:
        flash(_("The class is now called {name}.", name=name))
    return redirect(url_for("teacher.class_page", class_id=class_id))


@bp.post("/classes/<class_id>/archive")
def archive_class(class_id: str):
    group, missing = _class_or_404(class_id)
    if missing:
        return missing
    archived = request.form.get("archived") == "1"
    _change("classes", class_id, archived=archived)
    if archived:
        flash(_("{name} is archived: tablets no longer list it.", name=group["name"]))
        return redirect(url_for("teacher.classes"))
    flash(_("{name} is back on the tablets.", name=group["name"]))
    return redirect(url_for("teacher.class_page", class_id=class_id))


@bp.post("/classes/<class_id>/learners")
def add_learner(class_id: str):
    group, missing = _class_or_404(class_id)
    if missing:
        return missing
    state = the_hub().state
    try:
        # Choosing a free picture and taking it is one step: two teachers
        # adding at once must not give two children the same picture.
        with state.locked():
            picture = pictures.next_free_picture(taken_pictures(class_id))
            learner = state.add_learner(class_id, request.form.get("name", ""), picture)
    except StateError:
        flash(_("Give a name of 1 to 80 characters."))
    else:
        flash(
            _(
                "{name} added, with a sign-in picture of their own.",
                name=learner["name"],
            )
        )
    return redirect(url_for("teacher.class_page", class_id=class_id))


@bp.post("/classes/<class_id>/import")
def import_learners(class_id: str):
    group, missing = _class_or_404(class_id)
    if missing:
        return missing
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file first."))
        return redirect(url_for("teacher.class_page", class_id=class_id))

    try:
        children, unusable = read_class_list(upload.read())
    except ListRefused as refused:
        return page(
            "import_report.html",
            status=400,
            group=group,
            added=[],
            skipped=[],
            refused=refused.code,
        )

    state = the_hub().state
    # Choosing free pictures and taking them is one step under the lock.
    with state.locked():
        added, skipped = _add_children(state, class_id, children)
    skipped.extend((row.line, row.text, row.reason) for row in unusable)

    skipped.sort()
    return page(
        "import_report.html",
        group=group,
        added=added,
        skipped=skipped,
        refused=None,
    )


def _add_children(state, class_id: str, children) -> tuple[list, list]:
    """Add the listed children a class lacks, each with a free picture."""
    present = {row["name"].casefold() for row in state.learners(class_id)}
    taken = taken_pictures(class_id)
    skipped, chosen = [], []
    for child in children:
        if child.name.casefold() in present:
            skipped.append((child.line, child.name, "already_in_class"))
            continue
        picture = (
            child.picture
            if child.picture
            and pictures.is_picture(child.picture)
            and child.picture not in taken
            else None
        )
        if child.picture and picture is None:
            skipped.append((child.line, child.picture, "picture_replaced"))
        picture = picture or pictures.next_free_picture(taken)
        chosen.append((child.name, picture))
        taken.add(picture)
        present.add(child.name.casefold())
    added = state.add_learners(class_id, chosen) if chosen else []
    return added, skipped


@bp.route("/learners/<learner_id>/edit", methods=["GET", "POST"])
def edit_learner(learner_id: str):
    learner, missing = _learner_or_404(learner_id)
    if missing:
        return missing
    state = the_hub().state
    error = None

    if request.method == "POST":
        class_id = request.form.get("class_id", learner["class_id"])
        picture = request.form.get("picture", learner["picture"])
        try:
            name = _clean_name(request.form.get("name", ""))
            if state.get_class(class_id) is None or not pictures.is_picture(picture):
                raise StateError("form")
        except StateError:
            error = _("Give a name of 1 to 80 characters.")
        else:
            taken = taken_pictures(class_id, but=learner_id)
            if picture in taken:
                if class_id == learner["class_id"]:
                    error = _(
                        "Another learner of this class has that picture. "
                        "Choose another."
                    )
                else:
                    picture = pictures.next_free_picture(taken)
                    flash(
                        _(
                            "{name} has a new sign-in picture in the new class: "
                            "show it to them.",
                            name=name,
                        )
                    )
        if error is None:
            _change(
                "learners", learner_id, name=name, picture=picture, class_id=class_id
            )
            flash(_("Saved."))
            return redirect(url_for("teacher.class_page", class_id=class_id))

    return page(
        "learner_edit.html",
        status=400 if error else 200,
        error=error,
        learner=learner,
        group=state.get_class(learner["class_id"]),
        classes=state.classes(),
        pictures=pictures.all_pictures(),
        taken=taken_pictures(learner["class_id"], but=learner_id),
    )


@bp.post("/learners/<learner_id>/archive")
def archive_learner(learner_id: str):
    learner, missing = _learner_or_404(learner_id)
    if missing:
        return missing
    archived = request.form.get("archived") == "1"
    changes = {"archived": archived}
    if not archived:
        taken = taken_pictures(learner["class_id"], but=learner_id)
        if learner["picture"] in taken:
            changes["picture"] = pictures.next_free_picture(taken)
    _change("learners", learner_id, **changes)

    if archived:
        flash(
            _(
                "{name} is archived. Restore them from the class page.",
                name=learner["name"],
            )
        )
    elif "picture" in changes:
        flash(
            _(
                "{name} is back, with a new sign-in picture: show it to them.",
                name=learner["name"],
            )
        )
    else:
        flash(_("{name} is back on the tablets.", name=learner["name"]))
    return redirect(url_for("teacher.class_page", class_id=learner["class_id"]))


def learner_name(learner_id: str) -> str:
    learner = find_record("learners", learner_id)
    return learner["name"] if learner else learner_id
