"""The two course builds: no file of the student build holds a solution or an answer; the
instructor build holds every one of them (so the search below can find what it looks for), runs
every check strictly, and adds the lecturer's guide.

Both builds run in quick mode, every lesson. A file is searched as a reader would see it: the
text of a notebook's cells and outputs, the text of a page or deck with its HTML tags and
entities removed, all reduced to its words, so that syntax highlighting or Markdown rendering
cannot hide a leak.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from leaks import SOURCES, lesson_needles, words

from lapsrn_edu.course import build as course

pytestmark = pytest.mark.slow


def readable_text(path: Path) -> str:
    """What a reader of the file sees, reduced to words."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        parts = []
        for cell in json.loads(raw)["cells"]:
            parts.append("".join(cell["source"]))
            for output in cell.get("outputs", []):
                parts.append("".join(output.get("text", "")))
                for value in output.get("data", {}).values():
                    if isinstance(value, (str, list)):
                        parts.append("".join(value))
        raw = "\n".join(parts)
    elif path.suffix == ".html":
        raw = html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return words(raw)


def needles() -> dict[str, str]:
    """What must not leak, by where it comes from (:mod:`leaks`: each solution line of enough
    words, each run of words of an answer). A lesson may hold a needle after its question (a
    reveal; ``tests/test_leaks.py`` fails when one stands before it): such a needle is left out
    here, where the built files are searched as a whole."""
    committed = [*sorted(SOURCES.glob("[0-9][0-9]_*.md")), *course.course_pages()]
    lesson = " | ".join(words(path.read_text(encoding="utf-8")) for path in committed if path.is_file())
    found = {}
    for notebook in course.course_notebooks():
        for needle in lesson_needles(notebook.stem):
            if needle.text not in lesson:
                found[f"{needle}: {needle.text}"] = needle.text
    return found


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    student, instructor = tmp_path_factory.mktemp("student"), tmp_path_factory.mktemp("instructor")
    course.run_course("quick", student)
    course.run_course("quick", instructor, instructor=True)  # strict checks: a wrong solution fails here
    return {"student": student, "instructor": instructor}


def build_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.suffix in (".ipynb", ".html") and "assets" not in p.relative_to(folder).parts
    )


def test_the_search_has_something_to_find():
    anchors = {key.split(":")[0] for key in needles()}
    assert len([a for a in anchors if "Exercise" in a]) >= 27 and len([a for a in anchors if "Question" in a]) >= 30


def test_no_file_of_the_student_build_holds_a_solution_or_an_answer(builds):
    files = build_files(builds["student"])
    assert len(files) >= 2 * len(course.course_notebooks()) + len(course.PAGES)
    leaks = [
        f"{path.relative_to(builds['student'])}: {what}"
        for path in files
        for text in [readable_text(path)]
        for what, needle in needles().items()
        if needle in text
    ]
    assert not leaks, "\n".join(leaks[:20])
    assert not (builds["student"] / "guide.html").exists()


def test_the_instructor_build_holds_every_solution_and_answer_and_the_guide(builds):
    text = " ".join(readable_text(p) for p in build_files(builds["instructor"]) if p.suffix == ".ipynb")
    missing = [what for what, needle in needles().items() if needle not in text]
    assert not missing, "\n".join(missing[:20])
    guide = readable_text(builds["instructor"] / "guide.html")
    assert "90 minute lecture" in guide and "four week module" in guide
    assert "RUN0" not in (builds["instructor"] / "guide.html").read_text(encoding="utf-8")  # every run time filled in
    index = (builds["instructor"] / "index.html").read_text(encoding="utf-8")
    assert "instructor build" in index and 'href="guide.html"' in index
