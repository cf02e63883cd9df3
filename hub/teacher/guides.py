# SPDX-License-Identifier: AGPL-3.0-or-later
"""Teacher guides from ``guide`` packs, read on the page and marked as read.

A guide is plain text in sections (see docs/pack-format.md); the page shows
it in the teacher's language, or in the language the pack has, and never
takes HTML from a pack: every word goes through the template's escaping.
A teacher's "I have read this" is kept by ``hub.teachers``. Read-only but
for that one write; safe from any thread.
"""

from __future__ import annotations

from flask import flash, g, redirect, url_for

from . import _, bp, pack_text, page, pages, problem, the_hub


def guide_packs() -> list:
    return [pack for pack in the_hub().packs.catalog() if pack.kind == "guide"]


def _find_guide(pack_id: str, guide_id: str):
    for pack in guide_packs():
        if pack.id != pack_id:
            continue
        for guide in pack.manifest.get("guides", []):
            if guide["id"] == guide_id:
                return pack, guide
    return None, None


def _paragraphs(section: dict) -> list[str]:
    texts = section.get("paragraphs") or {}
    return texts.get(g.lang) or next(iter(texts.values()), [])


def _minutes(guide: dict) -> int:
    return sum(section.get("minutes") or 0 for section in guide.get("sections", []))


@bp.get("/guides")
def guides():
    done = pages().accounts.guides_read(g.teacher)
    listed = []
    for pack in guide_packs():
        for guide in pack.manifest.get("guides", []):
            listed.append(
                {
                    "pack_id": pack.id,
                    "guide_id": guide["id"],
                    "title": pack_text(guide["title"]),
                    "pack_title": pack_text(pack.manifest["title"]),
                    "minutes": _minutes(guide),
                    "sections": len(guide.get("sections", [])),
                    "read_at": done.get((pack.id, guide["id"])),
                }
            )
    return page("guides.html", guides=listed)


@bp.get("/guides/<pack_id>/<guide_id>")
def guide(pack_id: str, guide_id: str):
    pack, found = _find_guide(pack_id, guide_id)
    if found is None:
        return problem(404, _("There is no such guide. Open Guides."))
    sections = [
        {
            "heading": pack_text(section.get("heading")),
            "minutes": section.get("minutes"),
            "paragraphs": _paragraphs(section),
        }
        for section in found.get("sections", [])
    ]
    done = pages().accounts.guides_read(g.teacher)
    return page(
        "guide.html",
        pack=pack,
        guide_id=guide_id,
        title=pack_text(found["title"]),
        description=pack_text(pack.manifest.get("description")),
        sections=sections,
        minutes=_minutes(found),
        read_at=done.get((pack.id, guide_id)),
    )


@bp.post("/guides/<pack_id>/<guide_id>/read")
def mark_read(pack_id: str, guide_id: str):
    pack, found = _find_guide(pack_id, guide_id)
    if found is None:
        return problem(404, _("There is no such guide. Open Guides."))
    pages().accounts.mark_guide_read(g.teacher, pack.id, pack.version, guide_id)
    flash(_("Marked as read. Well done."))
    return redirect(url_for("teacher.guides"))
