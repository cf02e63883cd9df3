# SPDX-License-Identifier: AGPL-3.0-or-later
"""The teacher's and the head's pages of the checks: windows, each child's
baseline, endline and growth, the class's figures, a one-page print.

The views join the teacher pages' blueprint (``hub.teacher.bp``), so they
share its sign-in, CSRF check, language and headers; ``hub.app`` imports
this module before that blueprint is registered. The figures come from
``outcomes``; this module only words them in the page's language. Window
changes go through ``windows``, which locks the hub's state: safe from any
waitress thread.
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from ..teacher import _, bp, pack_text, page, problem, the_hub
from ..teacher.tables import Table, csv_response, wants_csv
from .charts import distribution
from .outcomes import class_outcomes, hub_outcomes, rounds_of
from .records import ATTENTION
from .windows import BASELINE, ENDLINE, AssessmentWindows, WindowError


def phase_names() -> dict:
    return {BASELINE: _("Baseline"), ENDLINE: _("Endline")}


def _number(value, decimals: int = 1) -> str:
    return "—" if value is None else g.i18n.format_number(value, decimals)


def score_text(taken) -> str:
    """One attempt as the teacher reads it: ``12/20``, and what to know."""
    score = taken.score
    if score is None:
        return "—"
    if score.attempted == 0:
        return _("started, no answer yet")
    text = f"{score.raw_score}/{score.items}"
    if not score.complete:
        text += " " + _("(unfinished)")
    elif score.discontinued:
        text += " " + _(
            "(stopped after {count} misses)", count=score.check.stop_after_misses
        )
    if score.check.type == ATTENTION:
        text += " · " + _(
            "hits {hits}, false alarms {false_alarms}, {ms} ms",
            hits=g.i18n.format_percent(score.hit_rate or 0),
            false_alarms=g.i18n.format_percent(score.false_alarm_rate or 0),
            ms=_number(score.rt_mean_ms, 0),
        )
    for _attempt_id, repeat in taken.repeats:
        text += " · " + _("repeat: {score}", score=f"{repeat.raw_score}/{repeat.items}")
    return text


def short_text(taken) -> str:
    """The raw score alone, for the printed grid; * marks unfinished."""
    score = taken.score
    if score is None or score.attempted == 0:
        return "—"
    return f"{score.raw_score}{'' if score.complete else '*'}"


def growth_text(value) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return sign + g.i18n.format_number(value, 0)


def figures(result) -> list[dict]:
    """The class's figures of one check, each with its N."""
    rows = []
    for label, summary in (
        (_("Baseline"), result.baseline),
        (_("Endline"), result.endline),
        (_("Growth"), result.growth),
    ):
        spread = "—"
        if summary.n:
            spread = f"{_number(summary.low, 0)}–{_number(summary.high, 0)}"
        rows.append(
            {
                "label": label,
                "n": summary.n,
                "mean": _number(summary.mean),
                "sd": _number(summary.sd),
                "median": _number(summary.median),
                "range": spread,
            }
        )
    return rows


def check_view(result, open_window) -> dict:
    """One check of a round, worded for the page."""

    def complete(taken):
        score = taken.score
        return score.raw_score if score is not None and score.complete else None

    children = []
    for row in result.children:
        done = (
            row.baseline
            if open_window and open_window["phase"] == BASELINE
            else row.endline
        )
        children.append(
            {
                "id": row.learner["id"],
                "name": row.learner["name"],
                "picture": row.learner["picture"],
                "baseline": score_text(row.baseline),
                "endline": score_text(row.endline),
                "growth": growth_text(row.growth),
                "baseline_short": short_text(row.baseline),
                "endline_short": short_text(row.endline),
                "baseline_raw": complete(row.baseline),
                "endline_raw": complete(row.endline),
                "growth_value": row.growth,
                "may_repeat": bool(
                    open_window and done.score is not None and done.score.complete
                ),
            }
        )

    # The chart shows what the figures count: finished checks only.
    baseline = [c["baseline_raw"] for c in children if c["baseline_raw"] is not None]
    endline = [c["endline_raw"] for c in children if c["endline_raw"] is not None]
    return {
        "id": result.check.id,
        "title": pack_text(result.check.title),
        "item_count": len(result.check.items),
        "children": children,
        "figures": figures(result),
        "chart": distribution(baseline, endline, len(result.check.items)),
    }


def _class(class_id: str):
    group = the_hub().state.get_class(class_id)
    if group is None:
        return None, problem(404, _("There is no such class. Open Classes."))
    return group, None


def _chosen_round(rounds: list, wanted: str | None):
    for outcome in rounds:
        if outcome.round == wanted:
            return outcome
    return rounds[0] if rounds else None


def _class_context(class_id: str):
    hub = the_hub()
    group, missing = _class(class_id)
    if missing:
        return None, missing
    windows = AssessmentWindows(hub.state)
    open_window = windows.open_window_of(class_id)
    rounds = class_outcomes(hub, class_id)
    chosen = _chosen_round(rounds, request.args.get("round"))
    in_round = (
        open_window
        if chosen and open_window and open_window["round"] == chosen.round
        else None
    )
    return {
        "group": group,
        "phases": phase_names(),
        "open_window": open_window,
        "windows": list(reversed(windows.windows(class_id))),
        "rounds": rounds,
        "chosen": chosen,
        "checks": [check_view(r, in_round) for r in chosen.checks] if chosen else [],
        "packs": [p for p in hub.packs.catalog() if p.kind == "assessment"],
        "has_baseline": any(r["baseline"] for r in rounds_of(windows, class_id)),
    }, None


@bp.get("/classes/<class_id>/outcomes")
def class_outcomes_page(class_id: str):
    context, missing = _class_context(class_id)
    if missing:
        return missing
    if wants_csv():
        return csv_response(
            _children_table(context), _("checks") + "-" + context["group"]["name"]
        )
    return page("outcomes.html", **context)


@bp.get("/classes/<class_id>/outcomes/print")
def class_outcomes_print(class_id: str):
    context, missing = _class_context(class_id)
    if missing:
        return missing
    return page("outcomes_print.html", **context)


def _children_table(context) -> Table:
    """Numbers as numbers, so a spreadsheet can compute with them; a score
    is left empty unless its check was finished, as in the figures."""
    table = Table(
        "checks",
        [
            ("name", _("Name")),
            ("check", _("Check")),
            ("version", _("Version")),
            ("baseline", _("Baseline")),
            ("endline", _("Endline")),
            ("growth", _("Growth")),
            ("items", _("Items")),
        ],
    )
    chosen = context["chosen"]
    for check in context["checks"]:
        for child in check["children"]:
            table.rows.append(
                {
                    "name": child["name"],
                    "check": check["title"],
                    "version": chosen.pack_version,
                    "baseline": child["baseline_raw"],
                    "endline": child["endline_raw"],
                    "growth": child["growth_value"],
                    "items": check["item_count"],
                }
            )
    return table


@bp.post("/classes/<class_id>/outcomes/windows")
def change_window(class_id: str):
    hub = the_hub()
    group, missing = _class(class_id)
    if missing:
        return missing
    windows = AssessmentWindows(hub.state)
    action = request.form.get("action")
    who = g.teacher.name
    back = redirect(url_for("teacher.class_outcomes_page", class_id=class_id))

    try:
        if action == "open":
            phase = request.form.get("phase")
            pack = _pack_for(hub, windows, class_id, phase)
            if pack is None:
                flash(
                    _(
                        "The assessment pack is not installed. Ask a technician "
                        "to install it."
                    )
                )
                return back
            opened = windows.open_window(class_id, phase, pack.id, pack.version, who)
            flash(
                _(
                    "{phase} window opened for {name}. The tablets offer the "
                    "checks now.",
                    phase=phase_names()[opened["phase"]],
                    name=group["name"],
                )
            )
        elif action in ("close", "reopen"):
            window = windows.window(request.form.get("window_id", ""))
            if window is None or window["class_id"] != class_id:
                return problem(404, _("There is no such window."))
            if action == "close":
                windows.close_window(window["id"], who)
                flash(
                    _("The window is closed. The tablets no longer offer the checks.")
                )
            else:
                windows.reopen_window(window["id"], who)
                flash(_("The window is open again."))
        else:
            return problem(
                400,
                _(
                    "This form was out of date, so nothing was "
                    "changed. Go back, reload the page and try again."
                ),
            )
    except WindowError as error:
        flash(_window_problem(error))
    return back


def _pack_for(hub, windows, class_id: str, phase: str | None):
    """The pack a new window gives: its baseline's for an endline."""
    if phase == ENDLINE:
        rounds = rounds_of(windows, class_id)
        baseline = rounds[0]["baseline"] if rounds else None
        if baseline is not None:
            return hub.packs.get(baseline["pack_id"], baseline["pack_version"])
    wanted = request.form.get("pack_id", "")
    newest = hub.packs.newest(wanted)
    return newest if newest is not None and newest.kind == "assessment" else None


def _window_problem(error: WindowError) -> str:
    messages = {
        "already_open": _("Close the class's open window first."),
        "endline_exists": _(
            "This round has its endline already. Reopen it below instead."
        ),
        "bad_phase": _("Choose baseline or endline."),
        "unknown_window": _("There is no such window."),
    }
    return messages.get(error.code, error.message)


@bp.post("/classes/<class_id>/outcomes/repeat")
def allow_repeat(class_id: str):
    hub = the_hub()
    _group, missing = _class(class_id)
    if missing:
        return missing
    windows = AssessmentWindows(hub.state)
    window = windows.open_window_of(class_id)
    learner_id = request.form.get("learner_id", "")
    learners = {row["id"]: row for row in hub.state.learners(class_id)}
    if window is None or learner_id not in learners:
        return problem(409, _("Repeats can be allowed only while a window is open."))

    check_id = request.form.get("check_id", "")
    windows.allow_repeat(window["id"], learner_id, check_id, g.teacher.name)
    flash(
        _(
            "{name} may take this check once more. The repeat is kept apart "
            "from the first attempt.",
            name=learners[learner_id]["name"],
        )
    )
    return redirect(url_for("teacher.class_outcomes_page", class_id=class_id))


@bp.get("/outcomes")
def hub_outcomes_page():
    hub = the_hub()
    latest, pooled = hub_outcomes(hub)
    checks = []
    for key, result in pooled.items():
        per_class = []
        for group, outcome in latest:
            for mine in outcome.checks:
                if mine.check.key == key:
                    per_class.append({"name": group["name"], "figures": figures(mine)})
        checks.append(
            {
                "title": pack_text(result.check.title),
                "pack": f"{result.check.pack_id} {result.check.pack_version}",
                "figures": figures(result),
                "classes": per_class,
            }
        )
    return page("outcomes_hub.html", checks=checks)
