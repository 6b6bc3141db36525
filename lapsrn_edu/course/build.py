"""Run the whole course: execute every notebook with papermill, export HTML and slides, write an index page.

``run_course()`` executes ``NN_*.ipynb`` in order (kernel: this interpreter's ``python3``, working
directory: the notebooks' folder) and writes into ``out_dir`` the executed copies, one
self-contained HTML page per notebook (figures embedded, equations typeset by a local MathJax),
one reveal.js deck per notebook in ``slides/``, and an ``index.html`` that links them with their
run time and status, so a lecturer can open ``build/index.html`` offline (see
:mod:`lapsrn_edu.course.publish`).

The notebooks are the repository's ``notebooks/``; an installed package carries a copy of them
(``lapsrn_edu/notebooks``), so ``lapsrn-edu course`` also runs outside the repository.

Two modes set the notebooks' ``QUICK`` parameter: ``"default"`` is what a student gets (the
whole course, timed in the README), ``"quick"`` is what CI runs.

Two builds: the student build (the default) executes the notebooks as they are, with no
solutions in them, so no page or deck can leak one; the instructor build (``instructor=True``,
into its own folder) executes each lesson with its solutions and answers put in
(:mod:`lapsrn_edu.course.answer_key`) and ``SOLUTIONS = True``, which makes every check strict,
and adds the lecturer's guide.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OptionError, UserError, one_line
from . import answer_key, publish

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
MODES = {"default": {"QUICK": False}, "quick": {"QUICK": True}}
KERNEL_NAME = "python3"  # jupyter_client runs it with this very interpreter
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
COURSE_DATA = ("weights", "set5", "set14")  # what the lessons use when present (about 16 MB)
COURSE_EXTRA_MODULES = ("papermill", "nbconvert", "ipykernel")
PAGES_DIR = Path(__file__).resolve().parent / "pages"
RUN_TIMES = Path(__file__).resolve().parent / "run_times.json"  # measured by `make` on a quiet 2-core CPU
PAGES = ("capstone", "glossary", "spectra", "further_reading")
PAGE_TITLES = {
    "guide": "Lecturer's guide",
    "capstone": "Capstone project",
    "glossary": "Glossary",
    "spectra": "Power spectra and octaves",
    "further_reading": "Further reading",
    "paper": "The paper, section by section",
}
# docs/paper.md, which every lesson links as ../docs/paper.md: in a clone, else the copy in the wheel
PAPER_PAGES = (REPO_ROOT / "docs" / "paper.md", PACKAGE_DIR / "docs" / "paper.md")
ANSWERS_NOTE = (  # the one place of the student material that says where the answers are
    "Looking for the answers? They are not in this build or in the notebooks, so that a class can be graded. "
    "The solutions and the answers to every lesson's questions are in the repository, in "
    "<code>lapsrn_edu/course/instructor/</code> (one file per lesson), and in the instructor kit your "
    "lecturer has; in a clone, <code>make instructor</code> builds every lesson with them. Try each exercise "
    "first: its check says how far off an answer is."
)
INDEX_STYLE = (  # the style sheet of build/index.html
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}\n"
    "table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left}"
)


class CourseError(UserError, RuntimeError):
    """At least one notebook of the course failed; ``runs`` says which."""

    def __init__(self, runs: list[NotebookRun]) -> None:
        failed = [r.name for r in runs if not r.ok]
        super().__init__(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
        self.runs = runs


class CourseSetupError(UserError, ValueError):
    """The course cannot start here (no notebooks, or the ``course`` extra is not installed);
    the message says what to do."""


@dataclass
class NotebookRun:
    """One executed notebook: where its outputs are, how long it took, and how it ended."""

    name: str
    title: str
    executed: Path
    html: Path | None
    slides: Path | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def notebook_dir() -> Path:
    """The repository's ``notebooks/`` when running from a checkout, else the copy installed with the package."""
    for folder in (REPO_ROOT / "notebooks", PACKAGE_DIR / "notebooks"):
        if any(folder.glob("[0-9][0-9]_*.ipynb")):
            return folder
    raise CourseSetupError(
        f"no course notebooks in {REPO_ROOT / 'notebooks'} or {PACKAGE_DIR / 'notebooks'}: "
        "reinstall the package (`pip install 'lapsrn-edu[course]'`) or run `make` in a clone of the repository"
    )


def course_notebooks(only: str | list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The course's notebooks in order; ``only`` keeps those whose number or name starts with one
    of the given prefixes (``"01,02"`` or ``["01", "02"]``)."""
    folder = folder or notebook_dir()
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        prefixes = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in prefixes)]
        if not paths:
            raise OptionError(f"no notebook in {folder} matches {only!r}")
    return paths


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook (its file name if there is none)."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def require_course_tools() -> None:
    """Raise :class:`CourseSetupError` (one line: what to install) if papermill, nbconvert or
    ipykernel is missing, instead of a traceback in the middle of the course."""
    missing = [name for name in COURSE_EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise CourseSetupError(
            f"the course needs {', '.join(missing)}: install them with `pip install 'lapsrn-edu[course]'`"
        )


def fetch_course_data(root: str | Path | None = None, progress: bool = False) -> str:
    """Download what the lessons use and the data root lacks (the official weights, Set5, Set14),
    each file verified; returns the one line to print. Present files are skipped without a
    request, so with the data in place (as in CI) nothing is fetched. Offline, or where the data
    root is read-only, nothing fails: the lessons fall back to the embedded images."""
    from ..data.datasets import data_root
    from ..data.download import download

    where = Path(root) if root is not None else data_root()
    downloaded = 0
    try:
        for group in COURSE_DATA:
            downloaded += download(group, root=where, progress=progress)["downloaded"]
    except OSError as exc:  # DownloadError (network, checksum) and file-system errors alike
        return offline_sentence(exc)
    if downloaded:
        return f"course data: {downloaded} files downloaded and verified into {where}"
    return f"course data: the official weights, Set5 and Set14 are present under {where}"


def offline_sentence(exc: OSError) -> str:
    """What a lesson's first cell prints when the course data could not be fetched: one sentence a
    student can read, with no URL (the command ``lapsrn-edu download`` names the address it tried)."""
    import requests

    from ..data.download import DownloadError

    cause = exc.__cause__
    if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
        why = "this machine cannot reach the download server (offline, or behind a firewall)"
    elif isinstance(exc, DownloadError):
        why = re.sub(r"\S+://\S+?(?=[:;,)]?(\s|$))", "the download server", one_line(exc))
    else:
        why = f"the data folder cannot be written ({type(exc).__name__})"
    return (
        f"Course data not downloaded: {why}; the lessons go on with the images that ship with scikit-image, "
        "and with bicubic where the official weights are missing."
    )


@contextmanager
def kernel_environment() -> Iterator[None]:
    """The kernel inherits this process's environment: make the package importable from the
    notebooks' folder, draw figures inline even where ``MPLBACKEND=Agg`` is set (as in CI), and
    have widgets draw their default figure instead of a live widget."""
    from .widgets import STATIC_ENV

    saved = {key: os.environ.get(key) for key in ("PYTHONPATH", "MPLBACKEND", STATIC_ENV)}
    paths = [str(REPO_ROOT), *filter(None, (saved["PYTHONPATH"] or "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    os.environ[STATIC_ENV] = "1"  # widgets leave their default figure (see widgets.explorer)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def kernel_config():
    """The kernel manager's settings: CurveZMQ keys for the kernel's sockets, which ipykernel
    supports; without them every kernel logs that it runs over TCP without encryption."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "auto"}})


def run_notebook(
    path: Path, out_dir: Path, parameters: dict[str, Any], assets: publish.Assets | None = None, cwd: Path | None = None
) -> NotebookRun:
    """Execute one notebook with papermill, then export its page and deck (even when it failed,
    so the page shows where it stopped); ``assets``: the offline MathJax and reveal.js in ``out_dir``;
    ``cwd``: the kernel's working directory (default: the notebook's folder)."""
    import papermill

    assets = assets or publish.install_assets(out_dir)
    executed = out_dir / path.name
    title = notebook_title(path)
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(path),
            str(executed),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            cwd=str(cwd or path.parent),
            progress_bar=False,
            config=kernel_config(),
        )
    except Exception as exc:  # papermill raises PapermillExecutionError, kernel and I/O errors alike
        error = f"{type(exc).__name__}: {exc}".strip()
    seconds = time.perf_counter() - start
    page = deck = None
    if executed.is_file():
        link_paper_in_notebook(executed)
        page = publish.html_page(executed, out_dir / f"{path.stem}.html", assets)
        deck = publish.slide_deck(executed, publish.deck_path(out_dir, path), assets)
    return NotebookRun(path.stem, title, executed, page, deck, seconds, error)


def link_paper_in_notebook(executed: Path) -> None:
    """Point the executed copy's links to the paper page at ``paper.html`` beside it, which the build
    writes, instead of ``../docs/paper.md``, which exists only beside a clone's notebooks."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    nbformat.write(publish.link_paper(nb, publish.PAPER_HTML), executed)


def write_run_times(runs: list[NotebookRun], target: Path, mode: str) -> Path:
    """Each lesson's run time in seconds, with the mode, date and machine: the figures the lessons'
    headers and the lecturer's guide state come from such a file, measured by a default-mode run on
    a quiet machine and committed as :data:`RUN_TIMES` (a quick-mode run's figures go under its
    ``"quick"`` key; ``tools/course_times.py --take`` merges either, ``tests/test_notebooks.py``
    compares them with the texts)."""
    import json
    import platform

    record = {
        "mode": mode,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": {run.name: round(run.seconds, 1) for run in runs},
        "ok": all(run.ok for run in runs),
    }
    target.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return target


def stated_run_time(seconds: float) -> str:
    """How a lesson states a measured run time: "under a minute", or "about N minutes"."""
    if seconds < 60:
        return "under a minute"
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} minute{'s' if minutes > 1 else ''}"


def stated_quick_time(seconds: float) -> str:
    """How a lesson's header states its measured quick-mode run time: "about N seconds" to the
    nearest 10 s below 55 s (a quick run is mostly seconds, which "under a minute" would hide),
    else "about N minutes" as :func:`stated_run_time` says it."""
    if seconds < 55:
        return f"about {max(10, 10 * round(seconds / 10))} seconds"
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} minute{'s' if minutes > 1 else ''}"


def course_pages(instructor: bool = False) -> list[Path]:
    """The pages beside the lessons: the capstone and the glossary, and in the instructor build
    the lecturer's guide first."""
    return [*([answer_key.guide_path()] if instructor else []), *(PAGES_DIR / f"{name}.md" for name in PAGES)]


def paper_page() -> Path:
    """``docs/paper.md``: the repository's, else the copy the wheel carries."""
    for path in PAPER_PAGES:
        if path.is_file():
            return path
    raise CourseSetupError(f"no paper page at {PAPER_PAGES[0]} or {PAPER_PAGES[1]}: reinstall the package")


def write_index(
    runs: list[NotebookRun], out_dir: Path, mode: str, pages: Sequence[Path] = (), instructor: bool = False
) -> Path:
    """``index.html``: every notebook with its title, page, slides, run time and status, then the
    pages beside them (capstone, glossary; in the instructor build, the lecturer's guide)."""
    rows = []
    for run in runs:
        link = (
            f'<a href="{html.escape(run.html.name)}">{html.escape(run.title)}</a>'
            if run.html
            else html.escape(run.title)
        )
        slides = f'<a href="{html.escape(run.slides.relative_to(out_dir).as_posix())}">slides</a>' if run.slides else ""
        status = "ok" if run.ok else f"failed: {html.escape(run.error or '')[:300]}"
        colour = "#1a7f37" if run.ok else "#cf222e"
        rows.append(
            f"<tr><td>{html.escape(run.name)}</td><td>{link}</td><td>{slides}</td>"
            f'<td><a href="{html.escape(run.executed.name)}">.ipynb</a></td>'
            f'<td style="text-align:right">{run.seconds:.0f} s</td><td style="color:{colour}">{status}</td></tr>'
        )
    total = sum(r.seconds for r in runs)
    build = "student build: exercises and questions, no solutions"
    answers = f"<p>{ANSWERS_NOTE}</p>"
    if instructor:
        build = "<b>instructor build</b>, with the solutions and answers: do not hand this folder to students"
        answers = ""
    links = " &middot; ".join(
        f'<a href="{html.escape(p.name)}">{html.escape(PAGE_TITLES.get(p.stem, p.stem))}</a>' for p in pages
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LapSRN course</title>
<style>{INDEX_STYLE}</style>
</head><body>
<h1>LapSRN: a course in notebooks</h1>
<p>Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution (Lai et al., CVPR 2017),
explained and reproduced with <code>lapsrn_edu</code>. Executed in <b>{html.escape(mode)}</b> mode on
{time.strftime("%Y-%m-%d %H:%M")}; total run time {total / 60:.1f} min. Every page and slide deck
works offline (press <kbd>S</kbd> in a deck for the speaker view). This is the {build}.</p>
<table><tr><th>#</th><th>lesson</th><th>slides</th><th>notebook</th><th>run time</th><th>status</th></tr>
{chr(10).join(rows)}
</table>
<p>{links}</p>
{answers}</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run_course(
    mode: str = "default",
    out_dir: str | Path = "build",
    only: str | list[str] | None = None,
    parameters: dict[str, Any] | None = None,
    check: bool = True,
    instructor: bool = False,
) -> list[NotebookRun]:
    """Execute the course's notebooks in order into ``out_dir`` (executed .ipynb, HTML, slides, index).

    ``mode`` is "default" (what a student gets) or "quick" (CI); ``parameters`` override any
    notebook parameter (e.g. ``{"TRAIN_MINUTES": 20}``); ``instructor`` makes the instructor
    build (solutions, answers, strict checks, the lecturer's guide). Every notebook runs even if
    an earlier one fails; with ``check`` a failure then raises :class:`CourseError`.
    """
    if mode not in MODES:
        raise OptionError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    require_course_tools()
    if instructor:
        answer_key.require_instructor_material()  # one line naming the instructor kit, before any lesson runs
    notebooks = course_notebooks(only)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    assets = publish.install_assets(out)
    if note := publish.missing_assets_note(assets):
        print(note)
    params = {**MODES[mode], "SOLUTIONS": instructor, **(parameters or {})}
    runs = []
    with kernel_environment(), tempfile.TemporaryDirectory() as keyed:
        for path in notebooks:
            print(f"{path.stem} ...", end=" ", flush=True)
            source = answer_key.instructor_notebook(path, Path(keyed) / path.name) if instructor else path
            run = run_notebook(source, out, params, assets, cwd=path.parent)
            print(f"{run.seconds:.0f} s {'ok' if run.ok else 'FAILED'}", flush=True)
            if not run.ok:
                print(f"    {run.error.splitlines()[0] if run.error else ''}", flush=True)
            runs.append(run)
    pages = [publish.markdown_page(page, out / f"{page.stem}.html", assets) for page in course_pages(instructor)]
    pages.append(publish.paper_page(paper_page(), out / publish.PAPER_HTML, assets))
    index = write_index(runs, out, mode, pages, instructor)
    write_run_times(runs, out / "run_times.json", mode)
    print(f"total {sum(r.seconds for r in runs):.0f} s; open {index}")
    if check and not all(r.ok for r in runs):
        raise CourseError(runs)
    return runs


def build_slides(out_dir: str | Path = "build", only: str | list[str] | None = None) -> list[Path]:
    """Rebuild the reveal.js decks in ``out_dir/slides`` (after editing a lesson's slide tags)
    from the executed copies in ``out_dir``; a lesson not executed there yet gets a deck of its
    text and equations only, with a note."""
    require_course_tools()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    assets = publish.install_assets(out)
    if note := publish.missing_assets_note(assets):
        print(note)
    decks = []
    for path in course_notebooks(only):
        executed = out / path.name
        if not executed.is_file():
            print(
                f"note: {path.stem} has not been run into {out} (run `lapsrn-edu course`), so its deck has no figures"
            )
        decks.append(publish.slide_deck(executed if executed.is_file() else path, publish.deck_path(out, path), assets))
    return decks
