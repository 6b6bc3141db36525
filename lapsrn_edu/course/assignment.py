"""The course as graded assignments for nbgrader: a release version for students, an autograder.

``lapsrn-edu assignment`` (``make assignment``) writes an nbgrader course folder: for each lesson,
``source/NN_name/NN_name.ipynb``, the lecturer's version, made from the lesson and its answer key,
and ``release/NN_name/NN_name.ipynb``, what nbgrader's ``generate_assignment`` leaves of it for the
students. Nothing is listed by hand, so the export follows the lessons as they change: an exercise
is a cell tagged ``exercise`` whose TODO raises ``NotImplementedError("Exercise N.M ...")``, and its
check is the cell that calls ``check("Exercise N.M", verify_..., ...)``.

- The exercise cell becomes an nbgrader answer cell: the lesson's stub, then the answer key's
  solution between nbgrader's solution markers, which the release leaves out.
- The check cell becomes an autograded test cell worth :data:`DEFAULT_POINTS` points (or what
  the instructor file ``grading.md`` gives its check function). The student sees the lesson's
  check, unchanged; below it, between nbgrader's hidden-test markers, the grader runs the check
  strictly, again with its random probes drawn from a seed the student never sees, and any
  further probes ``grading.md`` holds for that check function.

nbgrader (the ``grading`` extra) does the rest: ``nbgrader autograde`` runs each submission and
scores each test cell all or nothing, so an exercise that is wrong loses its points alone.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import answer_key
from .build import CourseSetupError, course_notebooks, kernel_environment

DEFAULT_POINTS = 1
PROBES_FILE = "grading.md"  # in the instructor material: points and hidden probes per check function
SOLUTION_STUB = "# (your answer: complete the function above)"
CONFIG = f"""# nbgrader's settings for the lapsrn-edu course (written by `lapsrn-edu assignment`)
c = get_config()  # noqa: F821
# the release keeps the lesson's stub of each exercise; the solution under it becomes this one line
c.ClearSolutions.code_stub = {{"python": {SOLUTION_STUB!r}}}
# a lesson's cell may train or evaluate for minutes on a slow machine
c.Execute.timeout = 900
"""


class AssignmentError(answer_key.AnswerKeyError):
    """A lesson whose exercises and checks cannot be paired (an exercise without its check)."""


@dataclass(frozen=True)
class HiddenProbes:
    """What ``grading.md`` says about one check function: its points and further hidden probes
    (Python that calls the student's function as ``answer``)."""

    points: int = DEFAULT_POINTS
    code: str = ""


def require_nbgrader() -> None:
    """One line saying what to install when nbgrader is missing."""
    if importlib.util.find_spec("nbgrader") is None:
        raise CourseSetupError(
            "the graded assignment needs nbgrader: install it with `pip install 'lapsrn-edu[grading]'` (Python 3.11+)"
        )


def hidden_probes(folder: Path) -> dict[str, HiddenProbes]:
    """``grading.md`` of the instructor material: a ``## verify_name`` section per check function,
    an optional ``points: N`` line and an optional ```` ```python ```` block of probes."""
    path = folder / PROBES_FILE
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    found = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        points = re.search(r"^points: (\d+)$", body, flags=re.M)
        code = answer_key.CODE_BLOCK.search(body)
        found[name.strip()] = HiddenProbes(
            int(points.group(1)) if points else DEFAULT_POINTS, code.group(1) if code else ""
        )
    return found


def check_calls(source: str) -> list[tuple[str, str, list[str]]]:
    """Each ``check("Exercise N.M", verify, *arguments)`` of a cell: the exercise's name, the
    check function's name, and the source of the arguments it passes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "check"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)
        ):
            arguments = [ast.get_source_segment(source, arg) or "" for arg in node.args[2:]]
            calls.append((str(node.args[0].value), node.args[1].id, arguments))
    return calls


def nbgrader_metadata(grade_id: str, *, solution: bool = False, points: int | None = None) -> dict:
    """nbgrader's cell metadata (schema 3): an answer cell, or a locked test cell worth ``points``."""
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": points is not None,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def graded_test(verify: str, arguments: list[str], probes: HiddenProbes, seed: int) -> str:
    """The hidden part of a test cell: the check strictly, its random probes drawn from ``seed``,
    then the probes of ``grading.md``."""
    call = f"{verify}({', '.join(arguments)})"
    lines = [
        "### BEGIN HIDDEN TESTS",
        "# graded: the check strictly (a wrong answer raises), then with probes the student has not seen",
        f"{call}",
        "import numpy as _np",
        "import lapsrn_edu.course.exercises as _exercises",
        "_seen = _exercises._probe_rng",
        f"_exercises._probe_rng = lambda seed=0: _np.random.default_rng({seed} + seed)",
        "try:",
        f"    {call}",
        "finally:",
        "    _exercises._probe_rng = _seen",
    ]
    if probes.code and arguments:
        lines += [f"answer = {arguments[0]}", probes.code]
    lines.append("### END HIDDEN TESTS")
    return "\n".join(lines)


def source_notebook(lesson: Path, folder: Path, seed: int, quick: bool = False) -> nbformat.NotebookNode:
    """The lecturer's nbgrader version of one lesson: answer cells with the solutions, test cells
    with points and hidden probes; ``quick`` sets the lesson's ``QUICK`` parameter (faster grading)."""
    nb = nbformat.read(lesson, as_version=4)
    key = answer_key.lesson_key(lesson)
    probes = hidden_probes(folder)
    out = copy.deepcopy(nb)
    exercises: list[str] = []
    checked: set[str] = set()
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        if quick and "parameters" in cell.metadata.get("tags", []):
            cell.source = re.sub(r"^QUICK = False$", "QUICK = True", cell.source, flags=re.M)
        name = answer_key.exercise_name(cell)
        if name is not None:
            if name not in key.solutions:
                raise AssignmentError(f"{lesson.stem}: {name} has no solution in {answer_key.key_path(lesson).name}")
            number = name.split()[-1].replace(".", "-")
            cell.source = f"{cell.source}\n### BEGIN SOLUTION\n{key.solutions[name]}\n### END SOLUTION"
            cell.metadata["nbgrader"] = nbgrader_metadata(f"exercise-{number}", solution=True)
            exercises.append(name)
            continue
        calls = check_calls(cell.source)
        if calls:
            number = calls[0][0].split()[-1].replace(".", "-")
            hidden = [graded_test(v, args, probes.get(v, HiddenProbes()), seed) for _, v, args in calls]
            points = sum(probes.get(v, HiddenProbes()).points for _, v, _ in calls)
            cell.source = "\n".join([cell.source, *hidden])
            cell.metadata["nbgrader"] = nbgrader_metadata(f"check-{number}", points=points)
            checked.update(name for name, _, _ in calls)
    if unchecked := [name for name in exercises if name not in checked]:
        raise AssignmentError(f"{lesson.stem}: no check(...) cell for {', '.join(unchecked)}")
    return out


def export_assignment(
    out_dir: str | Path, only: str | list[str] | None = None, quick: bool = False, seed: int | None = None
) -> list[Path]:
    """Write the nbgrader course folder ``out_dir`` (its ``nbgrader_config.py``, the lessons'
    source versions) and have nbgrader generate each lesson's release; returns the releases."""
    folder = answer_key.require_instructor_material()
    require_nbgrader()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    seed = secrets.randbelow(10**6) + 1000 if seed is None else seed
    released = []
    for lesson in course_notebooks(only):
        target = root / "source" / lesson.stem / lesson.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(lesson, folder, seed, quick), target)
        nbgrader(root, "generate_assignment", lesson.stem, "--force")
        released.append(root / "release" / lesson.stem / lesson.name)
    return released


def nbgrader(root: Path, *arguments: str) -> str:
    """Run one nbgrader command in the course folder ``root``; its output, or one line on failure."""
    with kernel_environment():  # the kernels that autograde runs import this package, draw inline
        # nbgrader runs `alembic` (its database's migrations) by name: this interpreter's scripts first
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", *arguments],
            cwd=root,
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise AssignmentError(f"nbgrader {arguments[0]} failed in {root}: {last[0]}")
    return result.stdout + result.stderr


def autograde(root: str | Path, lesson: str, student: str) -> tuple[float, float]:
    """Grade ``submitted/<student>/<lesson>/`` with nbgrader; returns (score, maximum)."""
    from nbgrader.api import Gradebook

    root = Path(root)
    nbgrader(root, "autograde", lesson, "--student", student, "--force")
    with Gradebook(f"sqlite:///{(root / 'gradebook.db').resolve()}") as book:
        submission = book.find_submission(lesson, student)
        return float(submission.score), float(submission.max_score)
