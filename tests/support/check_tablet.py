# SPDX-License-Identifier: AGPL-3.0-or-later
"""A tablet's browser giving baseline and endline checks, as a teacher
sitting with a child would: start, practise, answer, judge, tap or hold.

Wraps a ``TabletBrowser`` (tests/support/browsers.py) and reads the page in
one script per look, from the ``data-`` attributes assessment.js sets. Each
answer given is kept in ``given``. Not thread-safe: one test thread.
"""

from __future__ import annotations

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

_LOOK = """
function one(css) { return document.querySelector(css); }
function attr(node, name) { return node ? node.getAttribute(name) : null; }
var stage = one('[data-testid=check-stage]');
var grid = one('[data-testid=check-choices]');
var zone = one('[data-testid=check-zone]');
var cards = Array.prototype.map.call(
  document.querySelectorAll('[data-testid=check-card]'),
  function (card) { return [card.getAttribute('data-check-id'),
                            card.getAttribute('data-state')]; });
return {
  screen: attr(one('#screen'), 'data-screen'),
  cards: cards,
  check: attr(stage, 'data-check-id'),
  type: attr(stage, 'data-check-type'),
  item: attr(stage, 'data-item'),
  practice: attr(stage, 'data-practice') === 'true',
  finished: attr(stage, 'data-finished') === 'true',
  start: !!one('[data-testid=check-start]'),
  go_on: !!one('[data-testid=check-continue]'),
  ready: attr(grid, 'data-ready') === 'true',
  answered: attr(grid, 'data-answered') === 'true',
  word: attr(grid, 'data-word') || attr(one('[data-testid=check-picture]'), 'data-word'),
  listen_waiting: attr(one('[data-testid=check-listen]'), 'data-waiting') === 'true',
  examiner: (one('[data-testid=examiner-word]') || {}).textContent || null,
  judge: !!one('[data-testid=judge-named]'),
  zone: attr(zone, 'data-state'),
  zone_answer: attr(zone, 'data-answered'),
  go: attr(zone, 'data-go') === 'true',
  trial: attr(zone, 'data-trial')
};
"""


class CheckTablet:
    def __init__(self, tablet):
        self.tablet = tablet
        self.given: list[dict] = []

    def look(self) -> dict:
        return self.tablet.script(_LOOK)

    def wait_for(self, condition, what: str, timeout: float = 20) -> dict:
        def check(_driver):
            look = self.look()
            return look if condition(look) else False

        try:
            return WebDriverWait(self.tablet.driver, timeout, 0.03).until(check)
        except TimeoutException:
            raise AssertionError(
                f"waited {timeout}s for {what}; the page shows {self.look()}"
            ) from None

    def cards(self) -> dict:
        """Check id -> state, once the lessons screen shows the checks."""
        look = self.wait_for(
            lambda l: l["screen"] == "lessons" and l["cards"], "the row of checks"
        )
        return dict(look["cards"])

    def open_check(self, check_id: str) -> dict:
        # The row of checks fills in after the lessons screen shows.
        self.wait_for(
            lambda l: l["screen"] == "lessons" and check_id in dict(l["cards"]),
            f"the card of {check_id}",
        )
        self.tablet.tap(f'[data-testid=check-card][data-check-id="{check_id}"]')
        return self.wait_for(
            lambda l: (
                l["check"] == check_id and (l["start"] or l["item"] or l["go_on"])
            ),
            f"check {check_id} to open",
        )

    def take(self, right, stop_after: int | None = None) -> list[dict]:
        """Give the open check to the end. ``right(look)`` says whether to
        answer the item shown rightly; ``stop_after`` answers only that
        many items (practice included) and leaves, as a dropped tablet."""
        answers = []
        last = None
        while True:
            look = self.wait_for(
                lambda l, last=last: (
                    l["finished"]
                    or l["start"]
                    or l["go_on"]
                    or (
                        l["item"]
                        and (l["item"], l["trial"]) != last
                        and self._askable(l)
                    )
                ),
                "the next step",
            )
            if look["finished"]:
                return answers
            if look["start"] or look["go_on"]:
                self.tablet.tap(
                    "[data-testid=check-start], [data-testid=check-continue]"
                )
                last = None
                self.wait_for(
                    lambda l: not (l["start"] or l["go_on"]) or l["finished"],
                    "the intro to go",
                )
                continue
            if stop_after is not None and len(answers) >= stop_after:
                return answers
            answer = self._answer(look, right(look))
            answers.append(answer)
            self.given.append(answer)
            last = (answer["item"], look["trial"])

    @staticmethod
    def _askable(look) -> bool:
        if look["type"] == "receptive_vocabulary":
            return not look["answered"] and (look["ready"] or look["listen_waiting"])
        if look["type"] == "expressive_vocabulary":
            return look["judge"]
        return look["zone"] == "show" and not look["zone_answer"]

    def _answer(self, look, right: bool) -> dict:
        kind = look["type"]
        if kind == "receptive_vocabulary":
            if look["listen_waiting"]:
                self.tablet.tap("[data-testid=check-listen]")
                look = self.wait_for(lambda l: l["ready"], "the word to play")
            words = self.tablet.script(
                "return Array.prototype.map.call(document.querySelectorAll("
                "'[data-testid=check-choice]'), function (b) {"
                " return b.getAttribute('data-word'); });"
            )
            chosen = (
                look["word"] if right else next(w for w in words if w != look["word"])
            )
            self.tablet.tap(f'[data-testid=check-choice][data-word="{chosen}"]')
            response = chosen
        elif kind == "expressive_vocabulary":
            self.tablet.tap(
                "[data-testid=judge-named]"
                if right
                else "[data-testid=judge-not-named]"
            )
            response = "named" if right else "not_named"
        else:
            if look["go"] == right:
                self.tablet.tap("[data-testid=check-zone]")
            done = self.wait_for(
                lambda l: l["trial"] != look["trial"] or l["zone_answer"],
                "the trial to end",
            )
            response = done["zone_answer"] if done["trial"] == look["trial"] else "?"
        return {
            "check": look["check"],
            "item": look["item"],
            "response": response,
            "practice": look["practice"],
            "examiner": look["examiner"],
        }

    def back_to_lessons(self) -> None:
        self.tablet.tap("[data-testid=check-finished]")
        self.tablet.wait_for_screen("lessons")
