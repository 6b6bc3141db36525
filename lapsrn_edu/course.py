"""Run the whole course: execute every notebook with papermill, export HTML, write an index page.

``run_course()`` executes ``notebooks/NN_*.ipynb`` in order (kernel: this interpreter's
``python3``, working directory ``notebooks/``), writes the executed copies and one
self-contained HTML page per notebook (images embedded) into ``out_dir``, and an
``index.html`` that links them with their run time and status, so a lecturer can open
``build/index.html`` offline and see every figure.

Two modes set the notebooks' ``QUICK`` parameter: ``"default"`` is what a student gets (the
whole course in under 45 minutes on a 2-core laptop CPU), ``"quick"`` is what CI runs. The
executed copies always run with ``SOLUTIONS = True``, so every exercise shows its solution.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
MODES = {"default": {"QUICK": False}, "quick": {"QUICK": True}}
KERNEL_NAME = "python3"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
STATIC_ENV = "LAPSRN_EDU_STATIC_WIDGETS"  # read by lapsrn_edu.widgets


class CourseError(RuntimeError):
    """At least one notebook of the course failed; ``runs`` says which."""

    def __init__(self, runs: list["NotebookRun"]) -> None:
        failed = [r.name for r in runs if not r.ok]
        super().__init__(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
        self.runs = runs


@dataclass
class NotebookRun:
    """One executed notebook: where its outputs are, how long it took, and how it ended."""

    name: str
    title: str
    executed: Path
    html: Path | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def course_notebooks(only: str | list[str] | None = None, notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course's notebooks in order; ``only`` keeps those whose number or name starts with one
    of the given prefixes (``"01,02"`` or ``["01", "02"]``)."""
    paths = sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    if only:
        prefixes = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in prefixes)]
        if not paths:
            raise ValueError(f"no notebook in {notebook_dir} matches {only!r}")
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


@contextmanager
def kernel_environment() -> Iterator[None]:
    """The kernel inherits this process's environment: make the package importable from
    ``notebooks/``, draw figures inline even where ``MPLBACKEND=Agg`` is set (as in CI), and have
    widgets draw their default figure instead of a live widget."""
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


def export_html(executed: Path, target: Path) -> Path:
    """A self-contained HTML page of an executed notebook (figures are embedded as data URIs)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    target.write_text(body, encoding="utf-8")
    return target


def run_notebook(path: Path, out_dir: Path, parameters: dict[str, Any]) -> NotebookRun:
    """Execute one notebook with papermill, then export it to HTML (even when it failed, so the
    page shows where it stopped)."""
    import papermill

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
            cwd=str(path.parent),
            progress_bar=False,
        )
    except Exception as exc:  # papermill raises PapermillExecutionError, kernel and I/O errors alike
        error = f"{type(exc).__name__}: {exc}".strip()
    seconds = time.perf_counter() - start
    page = None
    if executed.is_file():
        page = export_html(executed, out_dir / f"{path.stem}.html")
    return NotebookRun(path.stem, title, executed, page, seconds, error)


def write_index(runs: list[NotebookRun], out_dir: Path, mode: str) -> Path:
    """``index.html``: every notebook with its title, links, run time and status."""
    rows = []
    for run in runs:
        link = f'<a href="{html.escape(run.html.name)}">{html.escape(run.title)}</a>' if run.html else html.escape(run.title)
        status = "ok" if run.ok else f"failed: {html.escape(run.error or '')[:300]}"
        colour = "#1a7f37" if run.ok else "#cf222e"
        rows.append(
            f"<tr><td>{html.escape(run.name)}</td><td>{link}</td>"
            f'<td><a href="{html.escape(run.executed.name)}">.ipynb</a></td>'
            f'<td style="text-align:right">{run.seconds:.0f} s</td><td style="color:{colour}">{status}</td></tr>'
        )
    total = sum(r.seconds for r in runs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>LapSRN course</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.5}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left}}</style>
</head><body>
<h1>LapSRN: a course in notebooks</h1>
<p>Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution (Lai et al., CVPR 2017),
explained and reproduced with <code>lapsrn_edu</code>. Executed in <b>{html.escape(mode)}</b> mode on
{time.strftime("%Y-%m-%d %H:%M")}; total run time {total / 60:.1f} min.</p>
<table><tr><th>#</th><th>lesson</th><th>notebook</th><th>run time</th><th>status</th></tr>
{chr(10).join(rows)}
</table></body></html>
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
) -> list[NotebookRun]:
    """Execute the course's notebooks in order into ``out_dir`` (executed .ipynb + HTML + index).

    ``mode`` is "default" (what a student gets) or "quick" (CI); ``parameters`` override any
    notebook parameter (e.g. ``{"TRAIN_MINUTES": 20}``). Every notebook runs even if an earlier
    one fails; with ``check`` a failure then raises :class:`CourseError`.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {**MODES[mode], "SOLUTIONS": True, **(parameters or {})}
    runs = []
    with kernel_environment():
        for path in course_notebooks(only):
            print(f"{path.stem} ...", end=" ", flush=True)
            run = run_notebook(path, out, params)
            print(f"{run.seconds:.0f} s {'ok' if run.ok else 'FAILED'}", flush=True)
            if not run.ok:
                print(f"    {run.error.splitlines()[0] if run.error else ''}", flush=True)
            runs.append(run)
    index = write_index(runs, out, mode)
    print(f"total {sum(r.seconds for r in runs):.0f} s; open {index}")
    if check and not all(r.ok for r in runs):
        raise CourseError(runs)
    return runs


def main(argv: list[str] | None = None) -> int:
    """``python -m lapsrn_edu.course [--quick] [--out build] [--only 01,02]``."""
    parser = argparse.ArgumentParser(prog="python -m lapsrn_edu.course", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quick mode (what CI runs)")
    parser.add_argument("--out", default="build", help="output folder (default: build)")
    parser.add_argument("--only", default=None, help="comma-separated notebook numbers, e.g. 01,02")
    args = parser.parse_args(argv)
    runs = run_course("quick" if args.quick else "default", args.out, args.only, check=False)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
