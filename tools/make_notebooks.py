"""Build the course notebooks (notebooks/*.ipynb) from their sources (tools/notebooks/*.md).

This is how the notebooks are maintained: edit the Markdown source, run
``python tools/make_notebooks.py``, commit both. The .ipynb files are the course's artefacts
(stripped of outputs); the sources only make them easy to review and diff.

Source format: Markdown. A fenced block opened with ```` ```python ```` becomes a code cell; words
after ``python`` are the cell's tags (``parameters``, ``exercise``, ``solution``, ...). A
``solution`` cell is also collapsed in Jupyter, so a student reveals it by clicking. A line
``+++`` splits Markdown into separate cells. Any other fence (```` ```text ````) stays Markdown.

``python tools/make_notebooks.py --check`` exits 1 if a notebook differs from its source.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "notebooks"
NOTEBOOKS = ROOT / "notebooks"
METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def parse(text: str) -> list[tuple[str, str, list[str]]]:
    """(cell type, source, tags) for every cell of a Markdown source."""
    cells: list[tuple[str, str, list[str]]] = []
    markdown: list[str] = []

    def flush() -> None:
        source = "\n".join(markdown).strip("\n")
        if source.strip():
            cells.append(("markdown", source, []))
        markdown.clear()

    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("```python"):
            flush()
            tags = line[len("```python") :].split()
            code = []
            for code_line in lines:
                if code_line.rstrip() == "```":
                    break
                code.append(code_line)
            cells.append(("code", "\n".join(code).strip("\n"), tags))
        elif line.strip() == "+++":
            flush()
        else:
            markdown.append(line)
    flush()
    return cells


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file, with stable cell ids and no outputs."""
    nb = nbformat.v4.new_notebook(metadata=METADATA)
    for i, (kind, text, tags) in enumerate(parse(source.read_text(encoding="utf-8"))):
        cell_id = f"{source.stem[:2]}-{i:03d}"
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(text, id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(text, id=cell_id)
            if tags:
                cell.metadata["tags"] = tags
            if "solution" in tags:
                cell.metadata["jupyter"] = {"source_hidden": True}
        nb.cells.append(cell)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.md")):
        target = NOTEBOOKS / f"{source.stem}.ipynb"
        text = render(build(source))
        if check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"out of date with tools/notebooks/: {', '.join(stale)}; run python tools/make_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
