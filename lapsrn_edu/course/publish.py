"""Executed notebooks as pages and slides a lecturer can open offline: HTML with typeset equations,
and a reveal.js deck of each lesson's key figures and equations.

nbconvert's templates load MathJax, reveal.js, jQuery and require.js from CDNs, so offline a page
shows raw LaTeX and a deck does not start. Here both come from Python packages of the ``course``
extra (MathJax 2.7 from ``jupyter-server-mathjax``; reveal.js 5 from the files that
``sphinx-revealjs`` ships), copied once into ``<out>/assets/`` and referenced by relative URLs,
and the templates in ``lapsrn_edu/templates`` leave the CDN scripts out.

A deck holds the cells a lesson tags for it: ``slide`` starts a new slide with that cell,
``slide-continue`` adds the cell to the slide before it. The first Markdown cell (the lesson's
title and goals) always opens the deck. Slides show no code, only Markdown and the cells'
figures and results (printed text stays in the notebook).

A page opens with the lesson, not its setup: the cells that find the package, set the parameters
(and the values papermill injects) and derive values from them stay in the notebook but are folded
into one closed "Setup" block (:func:`fold_setup`). The lessons link the paper page as
``../docs/paper.md``, a file beside the repository's notebooks; in a page or deck that link points
to ``paper.html``, which the build makes from the same Markdown (:func:`paper_page`).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSETS = "assets"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
SLIDE_TAGS = {"slide": "slide", "slide-continue": "-"}  # tag -> reveal.js slide type
SLIDES_DIR = "slides"
PAPER_HTML = "paper.html"  # docs/paper.md, built beside the lessons' pages
PAPER_LINK = "](../docs/paper.md"  # how a lesson's Markdown links the paper page
PAGE_LINK = re.compile(r"\]\(\.\./lapsrn_edu/course/pages/(\w+)\.md")  # how a lesson links a course page
SETUP_SUMMARY = "Setup: finds the package and the data, sets this run's parameters (click to show the code)"


def package_folder(module: str, *parts: str) -> Path | None:
    """A data folder inside an installed package, found without importing the package
    (sphinx_revealjs would import Sphinx); ``None`` when the package or folder is absent."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)), *parts)
    return folder if folder.is_dir() else None


@dataclass(frozen=True)
class Assets:
    """Where the offline copies of MathJax and reveal.js are (``None``: not installed)."""

    mathjax: Path | None
    reveal: Path | None

    def mathjax_url(self, page: Path) -> str | None:
        """The MathJax URL as seen from the page ``page`` (``None``: keep nbconvert's CDN default)."""
        return f"{relative_url(self.mathjax, page)}/MathJax.js?config={MATHJAX_CONFIG}" if self.mathjax else None


def relative_url(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def copy_tree(source: Path, target: Path, keep: Callable[[Path], bool]) -> None:
    """Copy the files of ``source`` for which ``keep(relative path)`` holds, unless ``target``
    already holds the same set (a stamp names the source it came from)."""
    stamp = target / ".copied-from"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == str(source):
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and keep(relative):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)
    stamp.write_text(str(source), encoding="utf-8")


def reveal_file(relative: Path) -> bool:
    """The reveal.js files a deck loads: the UMD build, its CSS and themes, the notes plugin."""
    parts = relative.parts
    if relative.suffix == ".map" or relative.name.endswith(".esm.js"):
        return False
    return parts[0] in ("dist", "LICENSE") or parts[:2] == ("plugin", "notes")


def install_assets(out_dir: Path) -> Assets:
    """Copy MathJax and reveal.js from their packages into ``out_dir/assets`` (once)."""
    mathjax_source = package_folder("jupyter_server_mathjax", "static")
    reveal_source = package_folder("sphinx_revealjs", "_static", "revealjs")
    mathjax = reveal = None
    if mathjax_source:
        mathjax = out_dir / ASSETS / "mathjax"
        copy_tree(mathjax_source, mathjax, lambda relative: True)
    if reveal_source:
        reveal = out_dir / ASSETS / "reveal.js"
        copy_tree(reveal_source, reveal, reveal_file)
    return Assets(mathjax, reveal)


def missing_assets_note(assets: Assets) -> str | None:
    """One line naming what pages or decks will need the network for, or ``None``."""
    missing = [
        name
        for name, path in (("jupyter-server-mathjax", assets.mathjax), ("sphinx-revealjs", assets.reveal))
        if path is None
    ]
    if not missing:
        return None
    return (
        f"note: {' and '.join(missing)} not installed, so equations (and slides) need the network; "
        "install them with `pip install 'lapsrn-edu[course]'`"
    )


def html_page(executed: Path, target: Path, assets: Assets) -> Path:
    """A self-contained HTML page of an executed notebook: figures embedded as data URIs,
    equations typeset by the local MathJax."""
    import nbformat

    paper = relative_url(target.parent / PAPER_HTML, target)
    nb = link_paper(nbformat.read(executed, as_version=4), paper)
    return _write_page(fold_setup(nb), target, assets)


def is_setup_cell(cell) -> bool:
    """One of the cells a lesson opens with before its first idea: the one that finds the package
    (``get_ready()``), the parameters, papermill's injected parameters, the values derived from them."""
    if cell.cell_type != "code":
        return False
    tags = cell.metadata.get("tags", [])
    return (
        "get_ready()" in cell.source
        or "parameters" in tags
        or "injected-parameters" in tags
        or cell.source.lstrip().startswith("# Derived")
    )


def fold_setup(nb):
    """A copy of ``nb`` whose first run of setup cells is marked to be folded into one closed block
    (the page template's ``lapsrn_setup_open`` and ``lapsrn_setup_close``); the cells themselves,
    their code and their printed lines, are kept."""
    out = copy.deepcopy(nb)
    start = next((i for i, cell in enumerate(out.cells) if is_setup_cell(cell)), None)
    if start is None:
        return out
    end = start
    while end + 1 < len(out.cells) and is_setup_cell(out.cells[end + 1]):
        end += 1
    out.cells[start].metadata["lapsrn_setup_open"] = True
    out.cells[end].metadata["lapsrn_setup_close"] = True
    return out


def link_paper(nb, href: str):
    """A copy of ``nb`` whose Markdown links to ``../docs/paper.md`` point to ``href``, the built paper
    page as seen from the page or deck being made, and whose links to a course page
    (``../lapsrn_edu/course/pages/spectra.md``) point to that page built beside it."""
    out = copy.deepcopy(nb)
    beside = href.removesuffix(PAPER_HTML)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = PAGE_LINK.sub(rf"]({beside}\1.html", cell.source.replace(PAPER_LINK, f"]({href}"))
    return out


def paper_page(source: Path, target: Path, assets: Assets) -> Path:
    """The paper page (``docs/paper.md``) as HTML, each heading with the anchor GitHub gives it
    (``#the-loss``), so that the lessons' links land on their section."""
    import nbformat

    text = source.read_text(encoding="utf-8")
    anchored = lambda m: f'<a id="{heading_anchor(m.group(2))}"></a>\n\n{m.group(0)}'  # noqa: E731
    text = re.sub(r"^(#+) (.+)$", anchored, text, flags=re.M)
    starts = [m.start() for m in re.finditer(r'^<a id="[^"]+"></a>\n\n## ', text, flags=re.M)]
    sections = [text[a:b].strip() for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]
    cells = [nbformat.v4.new_markdown_cell(s) for s in sections if s]
    return _write_page(nbformat.v4.new_notebook(cells=cells), target, assets)


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def markdown_page(source: Path, target: Path, assets: Assets) -> Path:
    """A self-contained HTML page of a Markdown file (the glossary, the capstone, the lecturer's
    guide), made like a lesson's page: one Markdown cell per ``##`` section, equations typeset."""
    import re

    import nbformat

    text = source.read_text(encoding="utf-8")
    starts = [m.start() for m in re.finditer(r"^## ", text, flags=re.M)]
    sections = [text[a:b].strip() for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]
    return _write_page(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in sections if s]), target, assets
    )


def _write_page(nb, target: Path, assets: Assets) -> Path:
    """``nb`` through the page template, with the offline MathJax when it is installed."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lapsrn_page",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(TEMPLATES)],
        embed_images=True,
    )
    url = assets.mathjax_url(target)  # None without local MathJax: keep nbconvert's default
    if url is not None:
        exporter.mathjax_url = url
    body, _ = exporter.from_notebook_node(nb, resources={"lapsrn_setup_summary": SETUP_SUMMARY})
    target.write_text(body, encoding="utf-8")
    return target


def slide_notebook(nb):
    """The deck's cells: the first Markdown cell, then every cell tagged ``slide`` or
    ``slide-continue``, with reveal.js slide types set and printed output dropped."""
    deck = copy.deepcopy(nb)
    first_markdown = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"), None)
    cells = []
    for index, cell in enumerate(deck.cells):
        tags = cell.metadata.get("tags", [])
        kind = next(
            (SLIDE_TAGS[tag] for tag in tags if tag in SLIDE_TAGS), "slide" if index == first_markdown else None
        )
        if kind is None:
            continue
        cell.metadata["slideshow"] = {"slide_type": kind}
        if cell.cell_type == "code":
            cell.outputs = [
                out for out in cell.get("outputs", []) if out.get("output_type") in ("display_data", "execute_result")
            ]
        cells.append(cell)
    deck.cells = cells
    return deck


def slide_deck(notebook: Path, target: Path, assets: Assets) -> Path:
    """A lesson's reveal.js deck (``target``) from a notebook, executed or not (no figures then)."""
    import nbformat
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        template_name="lapsrn_slides",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(TEMPLATES)],
        embed_images=True,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        reveal_theme="white",  # its fonts ship with reveal.js ("simple" loads Google Fonts)
    )
    if assets.reveal:
        exporter.reveal_url_prefix = relative_url(assets.reveal, target)
    url = assets.mathjax_url(target)  # None without local MathJax: keep nbconvert's default
    if url is not None:
        exporter.mathjax_url = url
    paper = relative_url(target.parent.parent / PAPER_HTML, target)  # decks sit in <out>/slides
    deck = link_paper(slide_notebook(nbformat.read(notebook, as_version=4)), paper)
    body, _ = exporter.from_notebook_node(deck)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def deck_path(out_dir: Path, notebook: Path) -> Path:
    """Where the deck of ``notebook`` goes: ``<out>/slides/NN_name.slides.html``."""
    return out_dir / SLIDES_DIR / f"{notebook.stem}.slides.html"
