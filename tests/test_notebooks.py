"""The course notebooks: stored clean, parameterised for papermill, exercises in sync; the runner."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from lapsrn_edu.course import answer_key
from lapsrn_edu.course import build as course
from lapsrn_edu.course.exercises import ExerciseFailed, assert_close, check

NOTEBOOKS = course.course_notebooks()
REQUIRED_PARAMETERS = {"QUICK", "SOLUTIONS"}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def tagged(nb: nbformat.NotebookNode, tag: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def function_signatures(source: str) -> dict[str, list[str]]:
    """Functions a cell defines, with their argument names."""
    return {
        node.name: [a.arg for a in node.args.args]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
    }


def test_the_course_has_its_notebooks():
    assert len(NOTEBOOKS) >= 3
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has outputs; strip them"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_literals_only(path):
    nb = read(path)
    cells = tagged(nb, "parameters")
    assert len(cells) == 1, f"{path.name}: expected exactly one cell tagged 'parameters', found {len(cells)}"
    names = set()
    for statement in ast.parse(nb.cells[cells[0]].source).body:
        assert isinstance(statement, ast.Assign) and len(statement.targets) == 1, (
            f"{path.name}: the parameters cell may hold only `NAME = literal` lines"
        )
        target = statement.targets[0]
        assert isinstance(target, ast.Name), f"{path.name}: parameters must be plain names"
        ast.literal_eval(statement.value)  # raises ValueError for anything but a literal
        names.add(target.id)
    assert REQUIRED_PARAMETERS <= names, f"{path.name}: the parameters cell lacks {REQUIRED_PARAMETERS - names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_header_and_a_summary(path):
    nb = read(path)
    header = nb.cells[0].source.lower()
    for part in ("learning goals", "prerequisites", "run time"):
        assert part in header, f"{path.name}: the first cell should state the {part}"
    assert any("summary" in c.source.lower() for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_and_their_answer_key_stay_in_sync(path):
    """Each exercise raises NotImplementedError and is followed by a strict check; the notebook
    holds no solution and no answers (a front end that ignores a hidden flag shows nothing); the
    answer key has a solution per exercise, defining the same functions with the same arguments."""
    nb = read(path)
    exercises = tagged(nb, "exercise")
    assert len(exercises) >= 2, f"{path.name}: at least two exercises"
    assert not tagged(nb, answer_key.SOLUTION_TAG), f"{path.name}: a solution cell in the student's notebook"
    assert not any("<details" in c.source for c in nb.cells), f"{path.name}: answers hidden in a <details> block"
    key = answer_key.lesson_key(path)
    for i in exercises:
        exercise = nb.cells[i].source
        assert "NotImplementedError" in exercise and "TODO" in exercise, (
            f"{path.name}: exercise cell {i} needs a TODO and NotImplementedError"
        )
        name = answer_key.exercise_name(nb.cells[i])
        assert name in key.solutions, (
            f"{path.name}: cell {i} ({name}) has no solution in {answer_key.key_path(path).name}"
        )
        assert function_signatures(key.solutions[name]) == function_signatures(exercise), (
            f"{path.name}: the solution of {name} must define the exercise's functions with the same arguments"
        )
        checker = next(c for c in nb.cells[i + 1 :] if c.cell_type == "code")
        assert f'check("{name}"' in checker.source and "strict=SOLUTIONS" in checker.source, (
            f"{path.name}: a strict check follows {name}"
        )
    keyed = answer_key.with_answers(nb, key, path.stem)
    assert len(tagged(keyed, answer_key.SOLUTION_TAG)) == len(exercises)
    assert sum(answer_key.ANSWERS_TAG in c.metadata.get("tags", []) for c in keyed.cells) == 1


def test_an_answer_key_that_misses_an_exercise_is_named(tmp_path):
    nb = read(NOTEBOOKS[2])
    key = answer_key.lesson_key(NOTEBOOKS[2])
    name = sorted(key.solutions)[0]
    partial = answer_key.LessonKey({k: v for k, v in key.solutions.items() if k != name}, key.answers)
    with pytest.raises(answer_key.AnswerKeyError, match=f"{name} has no solution"):
        answer_key.with_answers(nb, partial, NOTEBOOKS[2].stem)
    extra = answer_key.LessonKey({**key.solutions, "Exercise 99.1": "pass"}, key.answers)
    with pytest.raises(answer_key.AnswerKeyError, match="Exercise 99.1"):
        answer_key.with_answers(nb, extra, NOTEBOOKS[2].stem)


SOURCE_DIR = Path(course.REPO_ROOT, "tools", "notebooks")
SYNC_HINT = ".venv/bin/jupytext --sync tools/notebooks/{stem}.md"


def cell_contents(nb: nbformat.NotebookNode) -> list[tuple[str, str, dict]]:
    """What a notebook teaches, cell by cell: type, source and metadata (tags, hidden solutions);
    cell ids and outputs are left out (ids are kept by jupytext --sync, outputs are stripped)."""
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def disagreement(source: Path, notebook: Path) -> str | None:
    """None when the notebook holds exactly its jupytext source's cells, else the first difference."""
    import jupytext

    from_source, stored = cell_contents(jupytext.read(source)), cell_contents(read(notebook))
    # not strict: the cell counts are compared below, after the first differing cell is named
    for i, (a, b) in enumerate(zip(from_source, stored, strict=False)):
        if a != b:
            return f"cell {i} differs ({a[0]} in the source, {b[0]} in the notebook): {a[1][:60]!r}"
    if len(from_source) != len(stored):
        return f"{len(from_source)} cells in the source, {len(stored)} in the notebook"
    return None


def test_every_notebook_has_a_jupytext_source_and_back():
    sources = sorted(p.stem for p in SOURCE_DIR.glob("[0-9][0-9]_*.md"))
    assert sources == [p.stem for p in NOTEBOOKS], "each notebooks/NN_name.ipynb pairs with tools/notebooks/NN_name.md"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_jupytext_source(path):
    source = SOURCE_DIR / f"{path.stem}.md"
    difference = disagreement(source, path)
    assert difference is None, (
        f"{path.name} is out of date with {source.name}: {difference}; run {SYNC_HINT.format(stem=path.stem)}"
    )


def test_the_pairing_check_catches_an_edit(tmp_path):
    """Edit a source's prose, a tag or a hidden-solution flag without syncing: the check must fail."""
    path = NOTEBOOKS[0]
    text = (SOURCE_DIR / f"{path.stem}.md").read_text(encoding="utf-8")
    edits = [
        text.replace("**Prerequisites.**", "**Prerequisites (edited).**", 1),
        text.replace(":tags: [parameters]", ":tags: [parameters, extra]", 1),
        text + "\n```{code-cell}\nprint('a new cell')\n```\n",
    ]
    for edited in edits:
        assert edited != text
        source = tmp_path / f"{path.stem}.md"
        source.write_text(edited, encoding="utf-8")
        assert disagreement(source, path) is not None


def test_jupytext_pairs_notebooks_with_their_sources():
    """The repository's jupytext.toml is what makes `jupytext --sync` find the other file."""
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(course.REPO_ROOT)))
    formats = config.default_formats(str(NOTEBOOKS[0]))
    assert formats == "notebooks///ipynb,tools/notebooks///md:myst"


def test_check_reports_instead_of_raising(capsys):
    def not_done():
        raise NotImplementedError("TODO")

    check("ex", not_done)
    assert "not attempted yet" in capsys.readouterr().out
    check("ex", lambda: assert_close([1.0, 2.0], [1.0, 3.0]))
    assert "not quite" in capsys.readouterr().out
    check("ex", lambda: assert_close([1.0], [1.0]))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(ExerciseFailed):
        check("ex", not_done, strict=True)


def test_only_selects_notebooks_by_prefix():
    first = NOTEBOOKS[0].name[:2]
    assert [p.name for p in course.course_notebooks(first)] == [NOTEBOOKS[0].name]
    with pytest.raises(ValueError):
        course.course_notebooks("99")


@pytest.mark.slow
def test_runner_executes_exports_and_indexes(tmp_path):
    """A two-cell notebook through papermill and nbconvert: the HTML embeds the figure."""
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A tiny lesson"),
        nbformat.v4.new_code_cell("QUICK = False\nSOLUTIONS = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nassert QUICK\nplt.plot([0, 1]);"),
    ]
    source_dir = tmp_path / "notebooks"
    source_dir.mkdir()
    path = source_dir / "00_tiny.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "build"
    out.mkdir()
    with course.kernel_environment():
        run = course.run_notebook(path, out, {"QUICK": True, "SOLUTIONS": True})
    assert run.ok, run.error
    assert run.title == "A tiny lesson"
    assert run.html is not None and "data:image/png;base64" in run.html.read_text()
    index = course.write_index([run], out, "quick").read_text()
    assert "00_tiny.html" in index and "ok" in index


def test_stated_run_times_are_the_measured_ones():
    """Every lesson's header, the course map of lesson 00, the lecturer's guide and the README
    state the run times that a default-mode run of the course measured on a quiet 2-core CPU
    (``lapsrn_edu/course/run_times.json``, written by that run)."""
    import json
    import re

    record = json.loads(course.RUN_TIMES.read_text(encoding="utf-8"))
    assert record["mode"] == "default" and record["ok"]
    assert sorted(record["seconds"]) == [p.stem for p in NOTEBOOKS]
    guide = answer_key.GUIDE.read_text(encoding="utf-8")
    welcome = " ".join((SOURCE_DIR / "00_welcome.md").read_text(encoding="utf-8").split())
    for path in NOTEBOOKS:
        stated = course.stated_run_time(record["seconds"][path.stem])
        header = " ".join(read(path).cells[0].source.split())
        assert f"**Expected run time** on a 2-core laptop CPU: {stated}" in header, (
            f"{path.name}: the header should say {stated!r}"
        )
        row = next(line for line in guide.splitlines() if re.match(rf"\| {path.stem[:2]} ", line))
        assert f"| {stated} |" in row, f"the guide's row for {path.stem} should say {stated!r}"
        assert re.search(rf"\| {path.stem[:2]} [^|]*\|[^|]*\| {re.escape(stated)} \|", welcome), (
            f"lesson 00's course map: {path.stem} {stated!r}"
        )
    total = course.stated_run_time(sum(record["seconds"].values()))
    assert f"the whole course: {total}" in welcome.lower()
    assert f"the whole course takes {total}" in " ".join(
        (course.REPO_ROOT / "README.md").read_text(encoding="utf-8").split()
    )


# Lessons whose quick-mode time is not measured yet: their headers say "quick mode: not measured
# yet". Measure them (`lapsrn-edu course --quick --only 05,06,07,08,09`), take the file into the
# record, run the tool for them, then empty this set.
QUICK_TIMES_NOT_YET_WRITTEN = {"05", "06", "07", "08", "09"}


def test_stated_quick_times_are_the_measured_ones():
    """Every lesson's header states the quick-mode run time that a quick-mode run of the course
    measured (``lapsrn-edu course --quick``; its ``run_times.json`` taken into the record's
    ``"quick"`` entry by ``tools/course_times.py --take``), as ``course.stated_quick_time`` says it."""
    import json
    import re

    record = json.loads(course.RUN_TIMES.read_text(encoding="utf-8"))["quick"]
    assert record["mode"] == "quick" and record["ok"]
    stems = [p.stem for p in NOTEBOOKS]
    assert set(record["seconds"]) <= set(stems)
    assert sorted(set(stems) - set(record["seconds"])) == sorted(
        s for s in stems if s[:2] in QUICK_TIMES_NOT_YET_WRITTEN
    ), (
        "every lesson's quick-mode time is in the record but those of QUICK_TIMES_NOT_YET_WRITTEN (empty it as they "
        "are measured)"
    )
    for path in NOTEBOOKS:
        header = " ".join(read(path).cells[0].source.split())
        found = re.findall(
            r"quick mode: (under a minute|about \d+(?:\.\d+)? (?:seconds|minutes?)|not measured yet)", header
        )
        assert len(found) == 1, f"{path.name}: the header should state one quick-mode time"
        stated = (
            course.stated_quick_time(record["seconds"][path.stem])
            if path.stem in record["seconds"]
            else "not measured yet"
        )
        assert found[0] == stated, f"{path.name}: the header should say 'quick mode: {stated}', not {found[0]!r}"


def test_quick_times_are_stated_in_tens_of_seconds_or_minutes():
    assert [course.stated_quick_time(s) for s in (3, 14.9, 15, 54.9, 55, 89, 91, 150)] == [
        "about 10 seconds",
        "about 10 seconds",
        "about 20 seconds",
        "about 50 seconds",
        "about 1 minute",
        "about 1 minute",
        "about 2 minutes",
        "about 2 minutes",
    ]
