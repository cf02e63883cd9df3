# SPDX-License-Identifier: AGPL-3.0-or-later
"""Classes, learners and lesson assignments on the teacher page, and what
tablets then see through the tablet API."""

from __future__ import annotations

import re

from tests.support.teacher import teacher_fixture, teacher_hub_fixture  # noqa: F401 (fixtures)

HERD = ("vocab-early-mn-en", "herd-animals")


def tablet_classes(hub) -> dict:
    return {c["name"]: c for c in hub.get("/api/v1/classes").json()["classes"]}


def tablet_lessons(hub, class_id) -> list[tuple[str, str]]:
    lessons = hub.get(f"/api/v1/classes/{class_id}/lessons").json()["lessons"]
    return [(lesson["pack_id"], lesson["lesson_id"]) for lesson in lessons]


def test_a_utf8_class_list_with_bom_and_cyrillic_imports_and_reports_bad_rows(teacher):
    class_id = teacher.create_class("2Б")
    rows = [
        "Овог;Нэр;Зураг",
        "Батбаяр;Өнөрмаа;",
        "Дорж;Үүрцайх;",
        ";;",  # a blank row is skipped silently
        "Ганбат;;",  # no name
        "Болд;" + "Ө" * 90 + ";",  # too long
        'Сүх;"Тэмүүлэн;',  # a quote that never closes swallows the rest
    ]
    data = "\ufeff" + "\r\n".join(rows) + "\r\n"

    report = teacher.import_csv(class_id, data.encode("utf-8"))
    again = teacher.import_csv(class_id, data.encode("utf-8"))

    assert report.status_code == 200
    assert "2 сурагч нэмэгдлээ" in report.text
    assert "Энэ мөрөнд нэр алга" in report.text
    assert "80 тэмдэгтээс урт" in report.text
    lines = re.findall(r'<td class="number">(\d+)</td>', report.text)
    assert lines == ["5", "6", "7"]
    assert "0 сурагч нэмэгдлээ" in again.text
    assert "дахин нэмээгүй" in again.text

    learners = tablet_classes(teacher.hub)["2Б"]["learners"]
    names = sorted(learner["name"] for learner in learners)
    assert names == ["Б.Өнөрмаа", "Д.Үүрцайх"]
    assert len({learner["picture"] for learner in learners}) == 2


def test_a_headerless_comma_list_takes_the_first_column(teacher):
    class_id = teacher.create_class("3В")

    teacher.import_csv(class_id, "Номин,7 настай\nАнар,6 настай\n".encode())

    names = [x["name"] for x in tablet_classes(teacher.hub)["3В"]["learners"]]
    assert sorted(names) == ["Анар", "Номин"]


def test_a_list_in_a_legacy_code_page_is_refused_whole(teacher):
    class_id = teacher.create_class("4Г")

    report = teacher.import_csv(class_id, "Нэр\nБолд\nСарнай\n".encode("cp1251"))

    assert report.status_code == 400
    assert "UTF-8 биш" in report.text
    assert tablet_classes(teacher.hub)["4Г"]["learners"] == []


def test_html_in_names_is_shown_as_text(teacher):
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    class_id = teacher.create_class(f"5{evil}")
    teacher.import_csv(class_id, f'Нэр\n"{evil}"\n'.encode())
    teacher.post(
        f"/teacher/classes/{class_id}/learners",
        {"name": f"Бат{evil}"},
        page=f"/teacher/classes/{class_id}",
    )

    pages = [
        teacher.get(f"/teacher/classes/{class_id}"),
        teacher.get(f"/teacher/classes/{class_id}/progress"),
        teacher.get("/teacher/classes"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_learners_archive_restore_and_move_keeping_pictures_apart(teacher):
    hub = teacher.hub
    first = teacher.create_class("6А")
    second = teacher.create_class("6Б")
    for class_id, name in ((first, "Оюун"), (second, "Тулга")):
        teacher.post(
            f"/teacher/classes/{class_id}/learners",
            {"name": name},
            page=f"/teacher/classes/{class_id}",
        )
    oyun = tablet_classes(hub)["6А"]["learners"][0]
    tulga = tablet_classes(hub)["6Б"]["learners"][0]
    assert oyun["picture"] == tulga["picture"]  # the first free one in each

    teacher.post(
        f"/teacher/learners/{oyun['id']}/archive",
        {"archived": "1"},
        page=f"/teacher/classes/{first}",
    )
    assert tablet_classes(hub)["6А"]["learners"] == []

    teacher.post(
        f"/teacher/learners/{oyun['id']}/archive",
        {"archived": "0"},
        page=f"/teacher/classes/{first}",
    )
    assert [x["id"] for x in tablet_classes(hub)["6А"]["learners"]] == [oyun["id"]]

    moved = teacher.post(
        f"/teacher/learners/{oyun['id']}/edit",
        {"name": "Оюун-Эрдэнэ", "class_id": second, "picture": oyun["picture"]},
        page=f"/teacher/learners/{oyun['id']}/edit",
    )
    assert "шинэ нэвтрэх зурагтай" in moved.text
    now = {x["name"]: x for x in tablet_classes(hub)["6Б"]["learners"]}
    assert set(now) == {"Оюун-Эрдэнэ", "Тулга"}
    assert now["Оюун-Эрдэнэ"]["picture"] != now["Тулга"]["picture"]


def test_a_picture_another_learner_of_the_class_has_is_refused(teacher):
    class_id = teacher.create_class("7А")
    for name in ("Ану", "Бат"):
        teacher.post(
            f"/teacher/classes/{class_id}/learners",
            {"name": name},
            page=f"/teacher/classes/{class_id}",
        )
    ana, bat = sorted(
        tablet_classes(teacher.hub)["7А"]["learners"], key=lambda x: x["name"]
    )

    refused = teacher.post(
        f"/teacher/learners/{bat['id']}/edit",
        {"name": "Бат", "class_id": class_id, "picture": ana["picture"]},
        page=f"/teacher/learners/{bat['id']}/edit",
    )

    assert refused.status_code == 400
    after = {
        x["name"]: x["picture"] for x in tablet_classes(teacher.hub)["7А"]["learners"]
    }
    assert after == {"Ану": ana["picture"], "Бат": bat["picture"]}


def test_class_names_stay_unique_and_can_change(teacher):
    class_id = teacher.create_class("8А")
    teacher.create_class("8Б")

    clash = teacher.post(
        f"/teacher/classes/{class_id}/rename",
        {"name": "8Б"},
        page=f"/teacher/classes/{class_id}",
    )
    renamed = teacher.post(
        f"/teacher/classes/{class_id}/rename",
        {"name": "8В"},
        page=f"/teacher/classes/{class_id}",
    )

    assert "аль хэдийн байна" in clash.text
    assert "8В" in renamed.text
    assert set(tablet_classes(teacher.hub)) >= {"8Б", "8В"}


def test_tablets_follow_the_lessons_assigned_to_their_class(teacher):
    class_id = teacher.create_class("9А")
    every = tablet_lessons(teacher.hub, class_id)
    assert len(every) >= 2, "the bundled pack should have several lessons"
    chosen = [every[-1], every[0]]

    teacher.assign(class_id, chosen)
    assert tablet_lessons(teacher.hub, class_id) == chosen

    teacher.post(
        f"/teacher/classes/{class_id}/lessons",
        {"action": "all"},
        page=f"/teacher/classes/{class_id}/lessons",
    )
    assert tablet_lessons(teacher.hub, class_id) == every


def test_archived_classes_leave_the_tablets_and_come_back(teacher):
    class_id = teacher.create_class("10А")

    teacher.post(
        f"/teacher/classes/{class_id}/archive",
        {"archived": "1"},
        page=f"/teacher/classes/{class_id}",
    )
    gone = set(tablet_classes(teacher.hub))
    teacher.post(
        f"/teacher/classes/{class_id}/archive",
        {"archived": "0"},
        page="/teacher/classes",
    )

    assert "10А" not in gone
    assert "10А" in tablet_classes(teacher.hub)


def test_a_stray_quote_spoils_only_its_own_line_of_a_class_list():
    from hub.teacher.class_list import read_class_list

    children, unusable = read_class_list('Нэр\n"Болд\nДорж\nТуяа\n'.encode())

    assert [child.name for child in children] == ["Дорж", "Туяа"]
    assert [(row.line, row.reason) for row in unusable] == [(2, "unreadable")]


def test_two_teachers_adding_at_once_never_give_two_children_one_picture(teacher):
    from concurrent.futures import ThreadPoolExecutor

    class_id = teacher.create_class("4Г")
    token = teacher.token(f"/teacher/classes/{class_id}")

    def add(number):
        answer = teacher.post(
            f"/teacher/classes/{class_id}/learners",
            {"name": f"Хүүхэд {number}"},
            token=token,
        )
        assert answer.status_code == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(16)))

    learners = tablet_classes(teacher.hub)["4Г"]["learners"]
    assert len(learners) == 16
    assert len({learner["picture"] for learner in learners}) == 16
