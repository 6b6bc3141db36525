"""Where an answer may stand in the student's material: only after its question.

A lesson may show a solution line or an answer once the student has met the question (a reveal, a
later section that uses the function), never before: prose that states an answer above its
question has answered it for the student. This module finds, in a text read in order, every
needle that stands before its anchor. A needle is a run of words from the answer key
(:mod:`lapsrn_edu.course.answer_key`):

- for an exercise, each line of its solution with at least five words, except the lines that the
  exercise cell itself gives the student (its signature and docstring); its anchor is the end of
  the exercise cell, so a TODO that holds a solution line is a leak;
- for a "Check your understanding" answer, every run of ``NEEDLE_WORDS`` words of it; its anchor
  is the start of its question (links' targets left out).

Text is compared as a reader sees it, reduced to lower-case words (:func:`words`), so that
Markdown, syntax highlighting or HTML cannot hide a leak. ``tests/test_leaks.py`` searches the
committed lessons and pages (fast); ``tests/test_builds.py`` searches the built course (slow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lapsrn_edu.course import answer_key

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "notebooks"
NEEDLE_WORDS = 7  # a run of this many words from an answer is what is searched for
SOLUTION_WORDS = 5  # a shorter solution line (`weight, bias = w["upsample"]`) is too common to mean a leak
EXERCISE_CELL = re.compile(  # a code cell whose body raises NotImplementedError("Exercise N.M ...")
    r"```\{code-cell\}[^\n]*\n(?:(?!```).*\n)*?"
    r".*NotImplementedError\(\s*\"(Exercise \d+\.\d+)[^\n]*\n(?:(?!```).*\n)*?```"
)
QUESTION_ITEM = re.compile(r"^(\d+)\. ", re.M)
LINK = re.compile(r"\]\([^)]*\)")  # a Markdown link's target: the same page is linked from everywhere


def words(text: str) -> str:
    """A text reduced to its words, lower case, one space apart."""
    return " ".join(re.findall(r"\w+", text.lower()))


@dataclass(frozen=True)
class Needle:
    """A run of words from the answer key, and what it answers."""

    lesson: str  # the lesson's stem, "02_architecture"
    anchor: str  # "Exercise 2.3", or "Question 4"
    text: str  # in words()
    source: str  # the line or answer it comes from, for the message

    def __str__(self) -> str:
        return f"{self.lesson} {self.anchor}: {self.source[:70]}"


def exercise_cells(source: str) -> dict[str, str]:
    """Exercise name -> the text of its exercise cell, in a lesson's jupytext source."""
    return {m.group(1): m.group(0) for m in EXERCISE_CELL.finditer(source)}


def lesson_needles(lesson: str, source: str | None = None) -> list[Needle]:
    """Every needle of one lesson (``source``: its jupytext text, read from tools/notebooks by default)."""
    source = source if source is not None else (SOURCES / f"{lesson}.md").read_text(encoding="utf-8")
    key = answer_key.lesson_key(lesson)
    cells = exercise_cells(source)
    found = []
    for name, code in key.solutions.items():
        given = words("\n".join(line for line in cells.get(name, "").splitlines() if not line.strip().startswith("#")))
        for line in code.splitlines():
            needle = words(line)
            if len(needle.split()) >= SOLUTION_WORDS and needle not in given:
                found.append(Needle(lesson, name, needle, line.strip()))
    for item in re.split(r"\n(?=\d+\. )", key.answers.strip()):
        number = QUESTION_ITEM.match(item)
        if number is None:
            continue
        answer = words(LINK.sub("", item)).split()[1:]
        for start in range(max(len(answer) - NEEDLE_WORDS + 1, 0)):
            found.append(
                Needle(lesson, f"Question {number.group(1)}", " ".join(answer[start : start + NEEDLE_WORDS]), item)
            )
    return found


def anchors(source: str) -> dict[str, int]:
    """Where each exercise and question stands in ``words(source)``: the exercise cell's end, the
    question's start (character offsets into the words)."""
    found = {}
    for m in EXERCISE_CELL.finditer(source):
        found[m.group(1)] = len(words(source[: m.end()]))
    heading = answer_key.QUESTIONS.search(source)
    if heading is not None:
        for m in QUESTION_ITEM.finditer(source, heading.end()):
            found.setdefault(f"Question {m.group(1)}", len(words(source[: m.start()])))
    return found


def misplaced(lesson: str, source: str) -> list[str]:
    """Every needle of ``lesson`` that stands in its jupytext ``source`` before its anchor (or
    anywhere, when the lesson lacks the anchor)."""
    where = anchors(source)
    body = words(source)
    problems = []
    for needle in lesson_needles(lesson, source):
        at = body.find(needle.text)
        if at < 0:
            continue
        limit = where.get(needle.anchor, 0)
        kind = needle.anchor.split()[0].lower()
        if at < limit:
            problems.append(f"{needle}: '{needle.text}' stands before its {kind}")
        elif needle.anchor not in where:
            problems.append(f"{needle}: '{needle.text}' stands in the lesson, which lacks its {kind}")
    return list(dict.fromkeys(problems))
