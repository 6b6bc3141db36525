"""No lesson states an answer before its question, and no page states one at all (fast: the
committed sources, no course build; ``tests/test_builds.py`` searches the built course)."""

from __future__ import annotations

import pytest
from leaks import SOURCES, anchors, lesson_needles, misplaced, words

from lapsrn_edu.course import answer_key
from lapsrn_edu.course import build as course

LESSONS = sorted(path.stem for path in SOURCES.glob("[0-9][0-9]_*.md"))


def source(lesson: str) -> str:
    return (SOURCES / f"{lesson}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_answer_stands_before_its_question(lesson):
    problems = misplaced(lesson, source(lesson))
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_and_question_has_an_anchor_and_needles(lesson):
    key = answer_key.lesson_key(lesson)
    where = anchors(source(lesson))
    needles = {needle.anchor for needle in lesson_needles(lesson)}
    questions = [f"Question {n}" for n in range(1, key.answers.count("\n") + 2) if f"\n{n}. " in f"\n{key.answers}"]
    for anchor in [*key.solutions, *questions]:
        assert anchor in where, f"{lesson}: {anchor} not found in the lesson"
    for anchor in questions:  # an exercise may have only short solution lines, too common to search for
        assert anchor in needles, f"{lesson}: nothing to search for {anchor}"


@pytest.mark.parametrize("page", [page.stem for page in course.course_pages() if page.is_file()])
def test_no_page_holds_an_answer(page):
    """A page stands beside every lesson, so an answer in it stands before its question (a page
    registered but not written yet is the build's concern, not this search's)."""
    text = words((course.PAGES_DIR / f"{page}.md").read_text(encoding="utf-8"))
    needles = [needle for lesson in LESSONS for needle in lesson_needles(lesson)]
    found = list(dict.fromkeys(f"{n}: '{n.text}'" for n in needles if n.text in text))
    assert not found, "\n".join(found[:20])


def test_an_answer_planted_above_its_question_is_found():
    """The search at work: an answer (and a solution line) planted above its question in a copy of
    lesson 00 is found; the same text after its question is not."""
    lesson = "00_welcome"
    text = source(lesson)
    key = answer_key.lesson_key(lesson)
    answer = key.answers.split("\n2. ")[0].removeprefix("1. ")
    solution_line = key.solutions["Exercise 0.2"].splitlines()[-1].strip()
    assert misplaced(lesson, text) == []
    heading = answer_key.QUESTIONS.search(text)
    assert heading is not None
    planted = text[: heading.start()] + answer + "\n\n" + text[heading.start() :]
    assert any("Question 1" in problem for problem in misplaced(lesson, planted))
    todo = "    # TODO: a weighted sum of the three channels"
    assert todo in text
    in_the_todo = text.replace(todo, f"    # TODO: {solution_line}")
    assert any("Exercise 0.2" in problem for problem in misplaced(lesson, in_the_todo))
    revealed = text + "\n" + answer + "\n" + solution_line + "\n"
    assert misplaced(lesson, revealed) == []
