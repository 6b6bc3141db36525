"""The classroom kit: pages that open with the lesson (setup folded), the paper page and further
reading where a student is, the one-line answer when the instructor material is missing, and the
graded assignment (nbgrader) with a round trip through the grader on one lesson."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from lapsrn_edu import cli
from lapsrn_edu.course import answer_key, assignment, publish
from lapsrn_edu.course import build as course

ROOT = Path(__file__).resolve().parent.parent


def lesson(prefix: str) -> Path:
    return course.course_notebooks(prefix)[0]


def with_injected_parameters(path: Path) -> nbformat.NotebookNode:
    """The lesson as papermill leaves it: its injected parameters right after the parameters cell."""
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell("# Parameters\nQUICK = True\n", metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(at + 1, injected)
    return nb


def test_the_setup_cells_of_every_lesson_fold_into_one_block_before_the_first_idea():
    for path in course.course_notebooks():
        nb = publish.fold_setup(with_injected_parameters(path))
        opened = [i for i, c in enumerate(nb.cells) if c.metadata.get("lapsrn_setup_open")]
        closed = [i for i, c in enumerate(nb.cells) if c.metadata.get("lapsrn_setup_close")]
        assert len(opened) == len(closed) == 1, path.name
        folded = nb.cells[opened[0] : closed[0] + 1]
        assert "get_ready()" in folded[0].source, path.name
        tags = [tag for c in folded for tag in c.metadata.get("tags", [])]
        assert "parameters" in tags and "injected-parameters" in tags, path.name
        assert 3 <= len(folded) <= 4, path.name  # four where the lesson derives values in a cell of their own
        # nothing the lesson teaches is folded: only Markdown before the block, the lesson right after it
        assert all(c.cell_type == "markdown" for c in nb.cells[: opened[0]]), path.name


def test_a_built_page_folds_its_setup_and_keeps_it_and_its_links_to_the_paper_land(tmp_path):
    executed = tmp_path / "03.ipynb"
    nbformat.write(with_injected_parameters(lesson("03")), executed)
    assets = publish.install_assets(tmp_path)
    page = publish.html_page(executed, tmp_path / "03.html", assets).read_text(encoding="utf-8")
    assert page.count('<details class="lapsrn-setup"') == 1 and page.count("</details>") == 1
    folded = page[page.index("<details") : page.index("</details>")]
    assert publish.SETUP_SUMMARY in folded and "get_ready" in folded and "QUICK" in folded
    assert "Three penalties" in page[page.index("</details>") :]  # the lesson opens right after it
    assert "../docs/paper.md" not in page and 'href="paper.html#the-loss"' in page
    deck = publish.slide_deck(executed, publish.deck_path(tmp_path, executed), assets).read_text(encoding="utf-8")
    assert "get_ready" not in deck and "../docs/paper.md" not in deck


def test_the_paper_page_is_built_with_every_anchor_the_lessons_link(tmp_path):
    page = publish.paper_page(course.paper_page(), tmp_path / publish.PAPER_HTML, publish.install_assets(tmp_path))
    built = set(re.findall(r'<a id="([\w\-]+)"></a>', page.read_text(encoding="utf-8")))
    linked = {
        anchor
        for source in ROOT.glob("tools/notebooks/*.md")
        for anchor in re.findall(r"docs/paper\.md#([\w\-]+)", source.read_text(encoding="utf-8"))
    }
    assert linked and linked <= built, sorted(linked - built)


def test_the_student_index_says_where_the_answers_are_and_links_the_pages(tmp_path):
    pages = [tmp_path / "further_reading.html", tmp_path / "paper.html"]
    student = course.write_index([], tmp_path, "quick", pages).read_text(encoding="utf-8")
    assert "lapsrn_edu/course/instructor/" in student and "Looking for the answers?" in student
    assert 'href="further_reading.html">Further reading' in student and 'href="paper.html"' in student
    instructor = course.write_index([], tmp_path, "quick", pages, instructor=True).read_text(encoding="utf-8")
    assert "Looking for the answers?" not in instructor


def test_the_further_reading_page_is_registered_and_places_every_work():
    assert "further_reading" in course.PAGES
    text = (course.PAGES_DIR / "further_reading.md").read_text(encoding="utf-8")
    for work in (
        "Wang, J. Chen and S. C. H. Hoi",
        "Dumoulin and F. Visin",
        "Odena, V. Dumoulin and C. Olah",
        "ESPCN",
        "EDSR",
        "SwinIR",
        "BSRGAN",
        "Real-ESRGAN",
        "SR3",
    ):
        assert work in text, work
    assert "exercise 2.3" in text and "lesson 09" in text.lower()


def test_without_the_instructor_material_the_instructor_build_says_where_it_comes_from(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(answer_key, "GUIDE", tmp_path / "nowhere" / "guide.md")
    monkeypatch.setattr(answer_key, "KIT_PACKAGE", "no_such_instructor_kit")
    assert answer_key.instructor_dir() is None
    assert cli.main(["course", "--instructor", "--only", "00", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "make instructor-kit" in err and "Traceback" not in err
    assert not (tmp_path / "b" / "00_welcome.html").exists()


def test_every_lesson_exports_as_an_assignment_with_a_graded_check_per_exercise():
    for path in course.course_notebooks():
        nb = assignment.source_notebook(path, answer_key.INSTRUCTOR_DIR, seed=7)
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(answers) == len(answer_key.lesson_key(path).solutions), path.name
        assert len(tests) >= len(answers) > 0 or not answers, path.name
        for cell in answers:
            assert "### BEGIN SOLUTION" in cell.source and "NotImplementedError" in cell.source
        for cell in tests:
            hidden = cell.source[cell.source.index("### BEGIN HIDDEN TESTS") :]
            assert "default_rng(7 + seed)" in hidden and cell.metadata.nbgrader["points"] >= 1


def submission(release: Path, solutions: dict[str, str], wrong: set[str], blank: set[str]) -> nbformat.NotebookNode:
    """A student's notebook: each exercise answered with its solution, except those in ``blank``
    (left as the stub) and in ``wrong`` (a function that returns twice the right value)."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        name = answer_key.exercise_name(cell)
        if name is None or name in blank:
            continue
        code = solutions[name]
        if name in wrong:
            function = re.search(r"^def (\w+)", code, flags=re.M).group(1)  # type: ignore[union-attr]
            code += f"\n_right = {function}\n{function} = lambda *a, **k: _right(*a, **k) * 2\n"
        cell.source = f"{cell.source}\n{code}"
    return nb


@pytest.mark.slow
def test_the_grader_gives_full_marks_to_the_solutions_and_partial_marks_to_a_wrong_submission(tmp_path):
    pytest.importorskip("nbgrader")
    path = lesson("02")
    key = answer_key.lesson_key(path)
    root = tmp_path / "course"
    (release,) = assignment.export_assignment(root, only="02", quick=True, seed=1234)
    assert "### BEGIN SOLUTION" not in release.read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in release.read_text(encoding="utf-8") and "1234" not in release.read_text()
    exercises = list(key.solutions)
    blank, wrong = {exercises[0]}, {exercises[-1]}
    for student, nb in (
        ("right", submission(release, key.solutions, set(), set())),
        ("wrong", submission(release, key.solutions, wrong, blank)),
    ):
        target = root / "submitted" / student / path.stem / path.name
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    score, maximum = assignment.autograde(root, path.stem, "right")
    assert score == maximum > len(exercises)  # points per exercise: 2.4 weighs more than one point
    partial, same = assignment.autograde(root, path.stem, "wrong")
    assert same == maximum and 0 < partial < maximum
    shutil.rmtree(root / "autograded", ignore_errors=True)
