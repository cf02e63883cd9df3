# SPDX-License-Identifier: AGPL-3.0-or-later
"""Real browsers playing a tablet: headless Chromium and WebKitGTK.

Both open the hub as ``http://hub.test:PORT/`` while every packet stays on
127.0.0.1, so the page runs without a secure context, as on a tablet on the
school LAN (browsers count ``127.0.0.1`` and ``localhost`` as secure).
Chromium maps the name with a host resolver rule. WebKitGTK has no such
switch, so it is told to use the hub itself as its HTTP proxy: waitress
accepts the proxy's absolute-form request lines, and a stopped hub is then
unreachable for WebKit just as for Chromium.

Selenium is given the Debian drivers' paths, so selenium-manager never
looks for (or downloads) a browser. Not thread-safe: one test thread drives
a ``TabletBrowser``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import warnings
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.proxy import Proxy, ProxyType
from selenium.webdriver.support.ui import WebDriverWait

HUB_HOST = "hub.test"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
WEBKIT_BROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"
TABLET_SIZE = (1024, 768)

# What the page reports about itself in one round trip, so helpers decide
# what a child would do next from one consistent look at the screen.
_LOOK = """
var screen = document.getElementById('screen');
var stage = document.querySelector('[data-testid=stage]');
var grid = document.querySelector('[data-testid=choices]');
var card = document.querySelector('[data-testid=flashcard]');
var zone = document.querySelector('[data-testid=tap-zone]');
var listen = document.querySelector('[data-testid=play-word]');
function attr(node, name) { return node ? node.getAttribute(name) : null; }
return {
  screen: attr(screen, 'data-screen'),
  activity_id: attr(stage, 'data-activity-id'),
  activity_type: attr(stage, 'data-activity-type'),
  item: attr(grid, 'data-item') || attr(card, 'data-item'),
  word: attr(grid, 'data-word') || attr(card, 'data-word') || attr(zone, 'data-word'),
  ready: attr(grid, 'data-ready') === 'true',
  answered: attr(grid, 'data-answered') === 'true',
  listen_waiting: attr(listen, 'data-waiting') === 'true',
  start_button: !!document.querySelector('[data-testid=start-go-no-go]'),
  zone_state: attr(zone, 'data-state'),
  go_word: attr(zone, 'data-go-word'),
  trial: attr(zone, 'data-trial'),
  answered_trial: attr(zone, 'data-answered-trial'),
  trial_response: attr(zone, 'data-response')
};
"""


def browsers_available() -> dict[str, bool]:
    return {
        "chromium": all(Path(p).exists() for p in (CHROMIUM, CHROMEDRIVER)),
        "webkit": all(Path(p).exists() for p in (WEBKIT_DRIVER, WEBKIT_BROWSER, XVFB)),
    }


def tablet_url(port: int) -> str:
    return f"http://{HUB_HOST}:{port}/"


def start_chromium(port: int, profile_dir: Path, size=TABLET_SIZE):
    """Headless Chromium that resolves hub.test to 127.0.0.1 and nothing else."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile_dir}",
        f"--window-size={size[0]},{size[1]}",
        f"--host-resolver-rules=MAP {HUB_HOST} 127.0.0.1",
        # Android's rule: no sound until the user has tapped.
        "--autoplay-policy=user-gesture-required",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)

    driver = webdriver.Chrome(options=options, service=service)
    fit_viewport(driver, size)

    return driver


def fit_viewport(driver, size) -> None:
    """Make the page's own area (not the window) the size of the tablet."""
    driver.set_window_size(*size)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(2 * size[0] - inner[0], 2 * size[1] - inner[1])


class VirtualDisplay:
    """An Xvfb server on a display number it picks itself (-displayfd)."""

    def __init__(self, size=TABLET_SIZE):
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [
                XVFB,
                "-displayfd",
                str(write_end),
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                f"{size[0]}x{size[1]}x24",
            ],
            pass_fds=[write_end],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as announced:
            number = announced.readline().strip()
        if not number:
            self.process.kill()
            self.process.wait(5)
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_webkit(port: int, display: VirtualDisplay, size=TABLET_SIZE):
    """WebKitGTK's MiniBrowser on the virtual display, reaching hub.test
    through the hub itself as its proxy."""
    options = webdriver.WebKitGTKOptions()
    options.binary_location = WEBKIT_BROWSER
    options.add_argument("--automation")
    options.proxy = Proxy(
        {"proxyType": ProxyType.MANUAL, "httpProxy": f"127.0.0.1:{port}"}
    )
    env = dict(os.environ, DISPLAY=display.display)
    service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER, env=env)
    with warnings.catch_warnings():
        # Selenium's own WebKitGTK class still passes remote_server_addr the
        # old way; the warning is about selenium's code, not ours.
        warnings.filterwarnings(
            "ignore", message="setting remote_server_addr", category=DeprecationWarning
        )
        driver = webdriver.WebKitGTK(options=options, service=service)
    fit_viewport(driver, size)

    return driver


class TabletBrowser:
    """One tablet's browser on the learner page, tapping as a child would.

    Every answer given is kept in ``answers`` (what was asked, what was
    tapped), so a test can compare them with what reached the hub.
    """

    def __init__(self, driver, port: int, name: str = "tablet"):
        self.driver = driver
        self.port = port
        self.name = name
        self.answers: list[dict] = []
        self._last_step = None

    # --- the page as a whole -------------------------------------------------

    def open(self) -> TabletBrowser:
        self.driver.get(tablet_url(self.port))
        self.wait_for(lambda look: look["screen"] not in (None, "loading"))
        return self

    def look(self) -> dict:
        return self.driver.execute_script(_LOOK)

    def wait_for(self, condition, timeout: float = 15, what: str = "page"):
        def check(driver):
            look = self.look()
            return look if condition(look) else False

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(check)
        except TimeoutException:
            raise AssertionError(
                f"{self.name}: waited {timeout}s for {what}; screen shows {self.look()}"
            ) from None

    def wait_for_screen(self, name: str, timeout: float = 15) -> dict:
        return self.wait_for(lambda look: look["screen"] == name, timeout, name)

    def tap(self, css: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, css).click()

    def script(self, source: str, *args):
        return self.driver.execute_script(source, *args)

    def is_secure_context(self) -> bool:
        return self.script("return window.isSecureContext === true;")

    def queue_length(self) -> int:
        return self.script("return window.classroomHub.queueLength();")

    def tablet_id(self) -> str:
        return self.script("return window.classroomHub.tabletId();")

    def flush(self, timeout: float = 30) -> int:
        """Ask the page to send its queue now; returns how many still wait."""
        self.driver.set_script_timeout(timeout)
        return self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "window.classroomHub.flush().then(done, function () { done(-1); });"
        )

    def wait_until_sent(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.flush(timeout) != 0:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: {self.queue_length()} answers still queued "
                    f"after {timeout}s"
                )
            time.sleep(0.2)

    def lose_result_replies(self, count: int) -> None:
        """Let the next ``count`` result batches reach the hub but lose the
        hub's replies, as a Wi-Fi that drops at the wrong moment does."""
        self.script(
            """
            window.__repliesToLose = arguments[0];
            if (window.__sendBeforeLosing) { return; }
            var send = XMLHttpRequest.prototype.send;
            window.__sendBeforeLosing = send;
            XMLHttpRequest.prototype.send = function (body) {
              var xhr = this;
              if (window.__repliesToLose > 0 && typeof body === 'string' &&
                  body.indexOf('"results"') >= 0) {
                window.__repliesToLose -= 1;
                xhr.onload = function () { xhr.onerror(); };
              }
              return send.apply(this, arguments);
            };
            """,
            count,
        )

    def replies_still_to_lose(self) -> int:
        return self.script("return window.__repliesToLose || 0;")

    def screenshot(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()

    # --- a child's way through ------------------------------------------------

    def sign_in(self, class_name: str, picture: str) -> None:
        look = self.look()
        if look["screen"] in ("lessons", "activity", "end"):
            self.tap("[data-testid=switch-learner]")
            look = self.wait_for_screen("learners")
        if look["screen"] == "learners":
            class_shown = self.script(
                "var b = document.querySelector('[data-testid=switch-class]');"
                "return b ? b.textContent : '';"
            )
            if f"({class_name})" not in class_shown:
                self.tap("[data-testid=switch-class]")
                look = self.wait_for_screen("classes")
        if look["screen"] == "classes":
            self.tap(f'[data-testid=class-button][data-class-name="{class_name}"]')
            self.wait_for_screen("learners")
        self.tap(f'[data-testid=learner-button][data-picture="{picture}"]')
        self.wait_for_screen("lessons")

    def open_lesson(self, lesson_id: str | None = None) -> None:
        self.wait_for_screen("lessons")
        css = "[data-testid=lesson-card]"
        if lesson_id:
            css += f'[data-lesson-id="{lesson_id}"]'
        self.tap(css)
        self._last_step = None
        self.wait_for_screen("activity", timeout=30)

    def answer_next(self, right: bool = True) -> dict | None:
        """Give one answer (or sit out one go/no-go trial); None at the end."""
        look = self.wait_for(self._something_to_answer, what="a question")
        if look["screen"] == "end":
            return None
        kind = look["activity_type"]
        if kind == "listen_choose":
            answer = self._choose(look, right)
        elif kind == "flashcards":
            answer = self._next_card(look)
        else:
            answer = self._go_no_go_trial(look, right)
        answer.update(activity_id=look["activity_id"], activity_type=kind)
        self.answers.append(answer)
        return answer

    def answer_all(self, right=True, after_each=None) -> list[dict]:
        """Play to the end screen. ``right`` is a bool or a function of the
        answer's number (from 1); ``after_each(answer, count)`` is called
        after every answer, e.g. to cut the network half-way."""
        given = []
        while True:
            number = len(given) + 1
            answer = self.answer_next(right(number) if callable(right) else right)
            if answer is None:
                return given
            given.append(answer)
            if after_each:
                after_each(answer, len(given))

    def _step(self, look: dict) -> tuple:
        return (look["activity_id"], look["item"], look["trial"])

    def _something_to_answer(self, look: dict) -> bool:
        if look["screen"] == "end":
            return True
        if look["screen"] != "activity" or self._step(look) == self._last_step:
            # Still the question just answered: wait for the next one.
            return look["start_button"]
        kind = look["activity_type"]
        if kind == "listen_choose":
            return look["item"] is not None and not look["answered"]
        if kind == "flashcards":
            return look["item"] is not None
        return look["start_button"] or look["zone_state"] == "show"

    def _choose(self, look: dict, right: bool) -> dict:
        if look["listen_waiting"]:
            # The first word needs a tap: the browser allows no sound before.
            self.tap("[data-testid=play-word]")
        look = self.wait_for(
            lambda now: now["ready"] or now["listen_waiting"], 20, "the word"
        )
        if look["listen_waiting"]:
            self.tap("[data-testid=play-word]")
            look = self.wait_for(lambda now: now["ready"], 20, "the word")
        words = self.script(
            "return Array.prototype.map.call("
            "document.querySelectorAll('[data-testid=choice]'),"
            "function (b) { return b.getAttribute('data-word'); });"
        )
        asked = look["word"]
        chosen = asked if right else next(w for w in words if w != asked)
        self.tap(f'[data-testid=choice][data-word="{chosen}"]')
        self._last_step = self._step(look)
        return {"item": asked, "response": chosen, "correct": chosen == asked}

    def _next_card(self, look: dict) -> dict:
        self.tap("[data-testid=next-card]")
        self._last_step = self._step(look)
        return {"item": look["word"], "response": "next", "correct": None}

    def _go_no_go_trial(self, look: dict, right: bool) -> dict:
        if look["start_button"]:
            self.tap("[data-testid=start-go-no-go]")
            look = self.wait_for(
                lambda now: (
                    now["zone_state"] == "show" and self._step(now) != self._last_step
                ),
                20,
                "a go/no-go picture",
            )
        step = self._step(look)
        is_go = look["word"] == look["go_word"]
        if is_go == right:
            self.tap("[data-testid=tap-zone]")
        # What the page took the trial as: a tap that came after the
        # picture had gone (a slow machine) counts as no tap, as for a child.
        done = self.wait_for(
            lambda now: now["answered_trial"] == look["trial"], 20, "the trial to end"
        )
        self._last_step = step
        return {
            "item": look["word"],
            "response": done["trial_response"],
            "correct": (done["trial_response"] == "tap") == is_go,
        }


def new_profile_dir(base: Path, name: str) -> Path:
    path = Path(base) / f"profile-{name}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
