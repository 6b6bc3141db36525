"""The instructor's material, kept where the student's notebooks cannot show it.

A notebook that hides its solutions behind a flag still carries them: Colab and VS Code ignore
JupyterLab's ``source_hidden``, and every HTML page made from it shows them. So the committed
notebooks hold the exercises and the questions only. The solutions and the answers to each
lesson's "Check your understanding" live beside this module, in ``instructor/NN_name.md`` (one
file per lesson: an ``## Exercise N.M`` section with one Python block per exercise, then an
``## Check your understanding`` section with the answers), and the lecturer's guide in
``instructor/guide.md``.

The instructor build (``lapsrn-edu course --instructor``) asks :func:`with_answers` for each
lesson: every solution goes right after its exercise, the answers right after the questions, and
the notebook runs with ``SOLUTIONS = True``, so every check is strict and a solution that drifts
from its check fails the build.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..errors import UserError

INSTRUCTOR_DIR = Path(__file__).resolve().parent / "instructor"  # in a clone of the repository
GUIDE = INSTRUCTOR_DIR / "guide.md"
KIT_PACKAGE = "lapsrn_edu_instructor"  # the instructor kit's wheel (`make instructor-kit`) installs this package
EXERCISE = re.compile(r'NotImplementedError\(\s*"(Exercise \d+\.\d+)')
QUESTIONS = re.compile(r"^#+ .*Check your understanding", re.M)
SECTION = re.compile(r"^## (.+)$", re.M)
CODE_BLOCK = re.compile(r"```python\n(.*?)\n```", re.S)
SOLUTION_TAG, ANSWERS_TAG = "solution", "answers"


class AnswerKeyError(UserError, ValueError):
    """A lesson and its answer key disagree (an exercise without a solution, a solution without
    an exercise, no questions for the answers); the message names the file to fix."""


@dataclass(frozen=True)
class LessonKey:
    """One lesson's solutions (exercise name -> code) and answers (Markdown)."""

    solutions: dict[str, str]
    answers: str


def instructor_dir() -> Path | None:
    """Where the answer keys and the lecturer's guide are: the repository's
    ``lapsrn_edu/course/instructor/`` in a clone, else the instructor kit's package where it is
    installed; ``None`` under the student wheel alone, which carries neither."""
    if GUIDE.is_file():
        return INSTRUCTOR_DIR
    import importlib.util

    spec = importlib.util.find_spec(KIT_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        if (folder / GUIDE.name).is_file():
            return folder
    return None


def require_instructor_material() -> Path:
    """The folder of the instructor material, or one line saying where it comes from."""
    folder = instructor_dir()
    if folder is None:
        raise AnswerKeyError(
            "the instructor material (answer keys, lecturer's guide) is not in the student package: install the "
            "instructor kit, lapsrn_edu_instructor-<version>-py3-none-any.whl, which `make instructor-kit` builds "
            "in a clone of the repository (or run the command in that clone)"
        )
    return folder


def guide_path() -> Path:
    """The lecturer's guide, wherever the instructor material is."""
    return require_instructor_material() / GUIDE.name


def key_path(lesson: str | Path) -> Path:
    """The answer key of a lesson, by its notebook's path or stem (``"02_architecture"``)."""
    return (instructor_dir() or INSTRUCTOR_DIR) / f"{Path(lesson).stem}.md"


def lesson_key(lesson: str | Path) -> LessonKey:
    """Read a lesson's answer key."""
    path = key_path(lesson)
    if not path.is_file():
        raise AnswerKeyError(f"no answer key for {Path(lesson).stem}: expected {path}")
    text = path.read_text(encoding="utf-8")
    headings = list(SECTION.finditer(text))
    solutions, answers = {}, ""
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        body = text[heading.end() : following.start() if following else len(text)].strip()
        title = heading.group(1).strip()
        if title.startswith("Exercise "):
            blocks = CODE_BLOCK.findall(body)
            if len(blocks) != 1:
                raise AnswerKeyError(f"{path.name}: {title} needs exactly one ```python block, found {len(blocks)}")
            solutions[title] = blocks[0]
        elif title == "Check your understanding":
            answers = body
    if not answers:
        raise AnswerKeyError(f"{path.name}: no '## Check your understanding' section with the answers")
    return LessonKey(solutions, answers)


def exercise_name(cell: nbformat.NotebookNode) -> str | None:
    """``"Exercise 2.3"`` for an exercise cell (found by its ``NotImplementedError`` message)."""
    if cell.cell_type != "code" or "exercise" not in cell.metadata.get("tags", []):
        return None
    found = EXERCISE.search(cell.source)
    return found.group(1) if found else None


def with_answers(nb: nbformat.NotebookNode, key: LessonKey, lesson: str = "this lesson") -> nbformat.NotebookNode:
    """A copy of ``nb`` with each solution after its exercise and the answers after the questions."""
    out = copy.deepcopy(nb)
    cells, used, answered = [], set(), False
    for cell in out.cells:
        cells.append(cell)
        name = exercise_name(cell)
        if name is not None:
            if name not in key.solutions:
                raise AnswerKeyError(f"{lesson}: {name} has no solution in {key_path(lesson).name}")
            used.add(name)
            source = f"# Solution ({name}; instructor build)\n{key.solutions[name]}"
            cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": [SOLUTION_TAG]}))
        elif cell.cell_type == "markdown" and QUESTIONS.search(cell.source) and not answered:
            cells.append(
                nbformat.v4.new_markdown_cell(
                    f"**Answers** (instructor build)\n\n{key.answers}", metadata={"tags": [ANSWERS_TAG]}
                )
            )
            answered = True
    if unused := sorted(set(key.solutions) - used):
        raise AnswerKeyError(
            f"{lesson}: {key_path(lesson).name} has solutions for exercises the notebook lacks: {', '.join(unused)}"
        )
    if not answered:
        raise AnswerKeyError(f"{lesson}: no 'Check your understanding' cell to put the answers after")
    out.cells = cells
    return out


def instructor_notebook(source: Path, target: Path) -> Path:
    """Write the instructor's copy of the lesson ``source`` to ``target``."""
    nb = nbformat.read(source, as_version=4)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(with_answers(nb, lesson_key(source), source.stem), target)
    return target
