"""The course runner and what it publishes: data fetched or not, notebooks found or a one-line
error, offline HTML pages and slide decks, and kernels that start without the TCP warning."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from lapsrn_edu import cli
from lapsrn_edu.course import build as course
from lapsrn_edu.course import publish, resources

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: a download fails at once, no network used


def tiny_notebook(path: Path, *cells) -> Path:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = list(cells)
    nbformat.write(nb, path)
    return path


def external_urls(page: str) -> list[str]:
    """Every script, stylesheet or font a page would load from the network."""
    loaded = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', page) + re.findall(
        r"@import url\(([^)]+)\)", page
    )
    return [url for url in loaded if re.match(r"(https?:)?//", url)]


def test_offline_the_fetch_step_says_so_in_one_line_and_does_not_fail(tmp_path, monkeypatch):
    monkeypatch.setenv("LAPSRN_EDU_MIRROR", CLOSED_PORT)
    line = course.fetch_course_data(tmp_path)
    assert "\n" not in line and "://" not in line and "127.0.0.1" not in line  # a sentence a student reads
    assert line.startswith("Course data not downloaded") and "ship with scikit-image" in line


def test_with_the_data_present_the_fetch_step_makes_no_request(data_root, monkeypatch):
    monkeypatch.setenv("LAPSRN_EDU_MIRROR", CLOSED_PORT)
    assert (
        course.fetch_course_data(data_root)
        == f"course data: the official weights, Set5 and Set14 are present under {data_root}"
    )


def test_notebooks_come_from_the_repository_else_from_the_package(tmp_path, monkeypatch):
    assert course.notebook_dir() == course.REPO_ROOT / "notebooks"
    shipped = tmp_path / "package" / "notebooks"
    shipped.mkdir(parents=True)
    tiny_notebook(shipped / "00_only.ipynb", nbformat.v4.new_markdown_cell("# Only"))
    monkeypatch.setattr(course, "REPO_ROOT", tmp_path / "elsewhere")
    monkeypatch.setattr(course, "PACKAGE_DIR", tmp_path / "package")
    assert [p.name for p in course.course_notebooks()] == ["00_only.ipynb"]


def test_without_notebooks_the_course_command_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(course, "PACKAGE_DIR", tmp_path)
    assert cli.main(["course", "--out", str(tmp_path / "build")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no course notebooks" in err and "pip install" in err
    assert not (tmp_path / "build" / "index.html").exists()


def test_without_the_course_extra_the_course_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(course, "COURSE_EXTRA_MODULES", ("papermill", "no_such_module_here"))
    with pytest.raises(course.CourseSetupError, match=r"no_such_module_here.*lapsrn-edu\[course\]"):
        course.run_course("quick", tmp_path, only="00")


def test_a_deck_holds_the_title_and_the_tagged_cells_without_code_or_prints():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="a note\n")
    cells = [
        nbformat.v4.new_code_cell("QUICK = True", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("# Lesson\nGoals"),
        nbformat.v4.new_markdown_cell("Not on a slide"),
        nbformat.v4.new_markdown_cell(
            "## The loss\n$$\\rho(x) = \\sqrt{x^2 + \\varepsilon^2}$$", metadata={"tags": ["slide"]}
        ),
        nbformat.v4.new_code_cell("plot()", metadata={"tags": ["slide-continue"]}, outputs=[printed, figure]),
    ]
    deck = publish.slide_notebook(nbformat.v4.new_notebook(cells=cells))
    assert [c.source.split("\n")[0] for c in deck.cells] == ["# Lesson", "## The loss", "plot()"]
    assert [c.metadata.slideshow["slide_type"] for c in deck.cells] == ["slide", "slide", "-"]
    assert deck.cells[2].outputs == [figure]


def test_pages_and_decks_load_nothing_from_the_network(tmp_path):
    nb = tiny_notebook(
        tmp_path / "01_lesson.ipynb",
        nbformat.v4.new_markdown_cell("# Lesson\nThe penalty $\\rho(x) = \\sqrt{x^2 + \\varepsilon^2}$."),
        nbformat.v4.new_markdown_cell("## An equation\n$$y = x^2$$", metadata={"tags": ["slide"]}),
    )
    out = tmp_path / "build"
    assets = publish.install_assets(out)
    assert assets.mathjax and assets.reveal, "the course extra ships MathJax and reveal.js"
    page = publish.html_page(nb, out / "01_lesson.html", assets)
    deck = publish.slide_deck(nb, publish.deck_path(out, nb), assets)
    for html_file in (page, deck):
        text = html_file.read_text()
        assert external_urls(text) == [], html_file.name
        for url in re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"?]+)', text):
            assert (html_file.parent / url).is_file(), f"{html_file.name} loads {url}, which is not there"
    assert "MathJax.js?config=" in page.read_text() and "reveal.js/dist/reveal.js" in deck.read_text()


def test_assets_are_copied_once(tmp_path):
    first = publish.install_assets(tmp_path)
    assert first.mathjax is not None
    mathjax = first.mathjax / "MathJax.js"
    stamp = mathjax.stat().st_mtime_ns
    publish.install_assets(tmp_path)
    assert mathjax.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_a_run_writes_page_deck_and_index_and_the_kernel_starts_without_the_tcp_warning(tmp_path, capfd):
    source = tmp_path / "notebooks"
    source.mkdir()
    nb = tiny_notebook(
        source / "00_tiny.ipynb",
        nbformat.v4.new_markdown_cell("# A tiny lesson\n$a^2 + b^2 = c^2$"),
        nbformat.v4.new_code_cell("QUICK = False\nSOLUTIONS = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nassert QUICK\nplt.plot([0, 1]);", metadata={"tags": ["slide"]}
        ),
    )
    out = tmp_path / "build"
    out.mkdir()
    with course.kernel_environment():
        run = course.run_notebook(nb, out, {"QUICK": True, "SOLUTIONS": True})
    assert run.ok, run.error
    assert run.html is not None and run.slides is not None
    assert "data:image/png;base64" in run.html.read_text() and "data:image/png;base64" in run.slides.read_text()
    index = course.write_index([run], out, "quick").read_text()
    assert 'href="00_tiny.html"' in index and 'href="slides/00_tiny.slides.html"' in index
    captured = capfd.readouterr()
    assert "without encryption" not in captured.out + captured.err


def test_slides_command_builds_a_deck_per_notebook(tmp_path, capsys):
    assert cli.main(["slides", "--out", str(tmp_path), "--only", "03"]) == 0
    out = capsys.readouterr().out
    assert "has not been run" in out and "1 slide decks" in out
    deck = tmp_path / "slides" / "03_charbonnier_loss.slides.html"
    assert deck.is_file() and "<section" in deck.read_text()


def test_a_missing_resource_is_reported_under_the_root_it_was_looked_for(tmp_path, capsys):
    images, source = resources.images_or_embedded("set5", limit=1, root=tmp_path)
    model, name = resources.first_model(["official-x4"], root=tmp_path)
    notes = capsys.readouterr().out.splitlines()
    assert source == "embedded" and len(images) == 1 and model is None and name == "bicubic"
    assert len(notes) == 2 and all(f"under the data root {tmp_path}." in note for note in notes), notes


def test_a_lessons_links_to_the_paper_and_to_a_page_point_to_the_built_pages():
    """Lesson 01 links the spectra primer as ../lapsrn_edu/course/pages/spectra.md, which exists only
    beside a clone's notebooks: a built page or deck links the page built beside it."""
    cell = nbformat.v4.new_markdown_cell("[a](../docs/paper.md#the-loss), [b](../lapsrn_edu/course/pages/spectra.md)")
    nb = nbformat.v4.new_notebook(cells=[cell])
    in_a_page, in_a_deck = (publish.link_paper(nb, href).cells[0].source for href in ("paper.html", "../paper.html"))
    assert in_a_page == "[a](paper.html#the-loss), [b](spectra.html)"
    assert in_a_deck == "[a](../paper.html#the-loss), [b](../spectra.html)"
    linked = {
        name
        for source in sorted((course.REPO_ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.md"))
        for name in publish.PAGE_LINK.findall(source.read_text(encoding="utf-8"))
    }
    assert "spectra" in linked and linked <= set(course.PAGES)
