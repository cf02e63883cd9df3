# SPDX-License-Identifier: AGPL-3.0-or-later
"""The teacher page in headless Chromium against a real hub: a teacher's
day from sign-in to a CSV export, by keyboard where a teacher would type,
and screenshots of the main pages at laptop and phone size for docs/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browsers import (
    browsers_available,
    new_profile_dir,
    start_chromium,
)
from tests.support.tablet import make_result
from tests.support.teacher import (  # noqa: F401 (fixtures)
    TEACHER_NAME,
    TEACHER_PASSWORD,
    teacher_hub_fixture,
)

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
LAPTOP = (1280, 860)
PHONE = (390, 844)
HERD = ("vocab-early-mn-en", "herd-animals")
EVIL = '<img src=x onerror="window.hacked=1"><script>window.hacked=2</script>'


def class_list() -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(
        [
            ["Овог", "Нэр"],
            ["Батбаяр", "Өлзий"],
            ["Дорж", "Үүрийнтуяа"],
            ["Ганбат", EVIL],
            ["Сүх", ""],
        ]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not browsers_available()["chromium"],
        reason="chromium and chromium-driver are not installed",
    ),
]


@pytest.fixture
def browser(teacher_hub, tmp_path):
    driver = start_chromium(
        teacher_hub.port, new_profile_dir(tmp_path, "teacher"), size=LAPTOP
    )
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def url(hub, path: str) -> str:
    # hub.test, not 127.0.0.1: a page on the LAN has no secure context.
    return f"http://hub.test:{hub.port}{path}"


def screenshot(driver, name: str, size) -> None:
    """The whole page at ``size``'s width, as a phone or laptop shows it."""
    width, height = size
    metrics = {
        "width": width,
        "height": height,
        "deviceScaleFactor": 1,
        "mobile": width < 600,
    }
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    full = driver.execute_script("return document.documentElement.scrollHeight")
    metrics["height"] = min(max(height, full), 4000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"teacher-{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def wait_for_heading(driver, wanted: str, exact: bool = True) -> None:
    """Wait until the page after a click or Enter shows its heading."""

    def shown(driver):
        text = driver.find_element(By.TAG_NAME, "h1").text
        return text == wanted if exact else text.startswith(wanted)

    try:
        WebDriverWait(
            driver,
            10,
            ignored_exceptions=[StaleElementReferenceException, NoSuchElementException],
        ).until(shown)
    except TimeoutException:
        raise AssertionError(
            f"expected the heading {wanted!r} on {driver.current_url}"
        ) from None


def no_alert(driver) -> bool:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    alert.dismiss()
    return False


def click_text(driver, text: str) -> None:
    driver.find_element(
        By.XPATH, f"//*[self::a or self::button][normalize-space()='{text}']"
    ).click()


def fetch_text(driver, path: str) -> str:
    """What the browser gets for ``path``, with its own cookie."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text()).then(done);",
        path,
    )


def test_a_teacher_day_from_sign_in_to_csv_export(teacher_hub, browser, tmp_path):
    hub, driver = teacher_hub, browser

    # Sign in with the keyboard alone: type, Tab, type, Enter.
    driver.get(url(hub, "/teacher/"))
    assert "/teacher/sign-in" in driver.current_url
    name = driver.switch_to.active_element
    assert name.get_attribute("id") == "name", "the name field should have focus"
    name.send_keys(TEACHER_NAME, Keys.TAB, TEACHER_PASSWORD, Keys.ENTER)
    wait_for_heading(driver, "Хабын тойм")
    screenshot(driver, "glance", LAPTOP)
    screenshot(driver, "phone-glance", PHONE)

    # A new class, its list imported from a CSV with Cyrillic names.
    click_text(driver, "Ангиуд")
    driver.find_element(By.ID, "class-name").send_keys("1А", Keys.ENTER)
    wait_for_heading(driver, "1А анги")
    upload = tmp_path / "1А анги.csv"
    upload.write_bytes(class_list())
    driver.find_element(By.ID, "csv-file").send_keys(str(upload))
    click_text(driver, "Оруулах")
    wait_for_heading(driver, "1А ангид оруулах")
    report = driver.find_element(By.TAG_NAME, "main").text
    assert "3 сурагч нэмэгдлээ" in report
    assert "Энэ мөрөнд нэр алга" in report
    assert no_alert(driver) and driver.execute_script("return window.hacked") is None
    screenshot(driver, "import-report", LAPTOP)

    # One lesson for this class's tablets.
    click_text(driver, "Анги руу буцах")
    click_text(driver, "Хичээлүүд")
    driver.find_element(By.NAME, f"show:{HERD[0]}/{HERD[1]}").click()
    driver.find_element(By.NAME, f"order:{HERD[0]}/{HERD[1]}").send_keys("1")
    click_text(driver, "Хадгалах")
    WebDriverWait(driver, 10).until(
        lambda d: "Хадгаллаа" in d.find_element(By.TAG_NAME, "main").text
    )
    classes = hub.get("/api/v1/classes").json()["classes"]
    group = next(c for c in classes if c["name"] == "1А")
    lessons = hub.get(f"/api/v1/classes/{group['id']}/lessons").json()["lessons"]
    assert [(x["pack_id"], x["lesson_id"]) for x in lessons] == [HERD]
    screenshot(driver, "lessons", LAPTOP)

    # A tablet sends Өлзий's answers; the grid shows the lesson mastered.
    olzii = next(x for x in group["learners"] if x["name"] == "Б.Өлзий")
    answers = [
        make_result(olzii["id"], correct=True, response="horse") for _ in range(9)
    ]
    answers.append(
        make_result(
            olzii["id"], correct=False, response="cow", item="goat", reaction_ms=4200
        )
    )
    hub.post("/api/v1/results", json={"tablet_id": "t-1A", "results": answers})
    click_text(driver, "Ахиц")
    wait_for_heading(driver, "1А ангийн ахиц")
    row = driver.find_element(By.XPATH, "//tr[th//a[contains(., 'Б.Өлзий')]]")
    cell = row.find_element(By.CSS_SELECTOR, "td.state")
    assert "mastered" in cell.get_attribute("class")
    assert "9/10" in cell.text
    assert no_alert(driver) and driver.execute_script("return window.hacked") is None
    screenshot(driver, "progress", LAPTOP)
    screenshot(driver, "phone-progress", PHONE)

    row.find_element(By.TAG_NAME, "a").click()
    wait_for_heading(driver, "Б.Өлзий")
    assert "4,2 с" in driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, "learner", LAPTOP)

    # English, and the grid as a spreadsheet would open it.
    click_text(driver, "English")
    wait_for_heading(driver, "Б.Өлзий")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    click_text(driver, "Class 1А")
    wait_for_heading(driver, "Progress of 1А")
    link = driver.find_element(By.PARTIAL_LINK_TEXT, "Download as CSV")
    exported = fetch_text(driver, link.get_attribute("href"))
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0] == ["Name", "The five herd animals"]
    by_name = {row[0]: row[1] for row in rows[1:]}
    assert by_name["Б.Өлзий"] == "Mastered 9/10"
    assert by_name["Д.Үүрийнтуяа"] == "Not started"
    assert by_name[f"Г.{EVIL}"] == "Not started", "names are exported as they are"


def test_guides_and_the_hub_page_read_well(teacher_hub, browser):
    hub, driver = teacher_hub, browser
    driver.get(url(hub, "/teacher/sign-in"))
    driver.find_element(By.ID, "name").send_keys(TEACHER_NAME)
    driver.find_element(By.ID, "password").send_keys(TEACHER_PASSWORD, Keys.ENTER)
    wait_for_heading(driver, "Хабын тойм")

    click_text(driver, "Гарын авлага")
    wait_for_heading(driver, "Багшид зориулсан гарын авлага")
    driver.find_element(By.CSS_SELECTOR, ".guide-list a").click()
    wait_for_heading(driver, "Таблет ашиглан", exact=False)
    screenshot(driver, "guide", LAPTOP)
    click_text(driver, "Би энэ гарын авлагыг уншсан")
    wait_for_heading(driver, "Багшид зориулсан гарын авлага")

    assert "Уншсан огноо" in driver.find_element(By.CSS_SELECTOR, ".guide-list").text
    # Every page's main text stays within a phone's width: nothing to pan.
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    for path in (
        "/teacher/",
        "/teacher/classes",
        "/teacher/guides",
        "/teacher/teachers",
    ):
        driver.get(url(hub, path))
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
