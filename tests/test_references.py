"""The course's references stay inside the repository: every link to docs/paper.md names a heading
that exists there, every relative link of the README and the docs/ pages leads to a file (and a
heading) that exists, and every lesson ends with questions whose answers are in its answer key."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAPER_PAGE = ROOT / "docs" / "paper.md"


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def referring_files() -> list[Path]:
    files = [*ROOT.glob("tools/notebooks/*.md"), *ROOT.glob("lapsrn_edu/**/*.py"), *pages()]
    return [f for f in files if f.is_file()]


def pages() -> list[Path]:
    """The README and the pages it sends a newcomer to."""
    return [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]


def test_every_link_to_the_paper_page_names_an_existing_heading():
    known = anchors(PAPER_PAGE.read_text(encoding="utf-8"))
    assert {"the-loss", "training", "results", "residual-learning", "ms-lapsrn", "further-reading"} <= known
    broken = []
    for path in referring_files():
        for anchor in re.findall(r"docs/paper\.md#([\w\-]+)", path.read_text(encoding="utf-8")):
            if anchor not in known:
                broken.append(f"{path.relative_to(ROOT)}: #{anchor}")
    assert not broken, "links to missing headings of docs/paper.md: " + ", ".join(broken)


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in pages()[1:] if f"](docs/{p.name})" not in readme]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_existing_files_and_headings(page):
    """A page's relative Markdown links (``[text](target)`` or ``[text](target#heading)``) name a file of
    the repository, and a heading that exists in it when the target is a Markdown page."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)  # no code blocks
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = []
    for link in links:
        if re.match(r"[a-z]+:", link):  # https:, mailto: ...
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists() or ROOT not in path.parents:
            broken.append(link)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
            broken.append(link)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_paper_page_gives_full_citations_for_the_further_reading():
    text = PAPER_PAGE.read_text(encoding="utf-8")
    reading = text[text.index("## Further reading") :]
    for work in ("Burt", "SRCNN", "FSRCNN", "VDSR", "DRCN", "ESPCN", "MS-LapSRN", "1710.01992"):
        assert work in reading, f"{work} is missing from the further reading"
    assert "arXiv:1704.03915" in text


@pytest.mark.parametrize("lesson", ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"])
def test_lessons_end_with_questions_whose_answers_are_in_the_answer_key(lesson):
    """Each lesson asks numbered questions; the answers, as many, are in its answer key (the
    instructor build), never in the lesson."""
    from lapsrn_edu.course import answer_key

    source = next(ROOT.glob(f"tools/notebooks/{lesson}_*.md"))
    text = source.read_text(encoding="utf-8")
    questions = re.search(r"^## (\d+\. )?Check your understanding\n(.*?)(?=^## )", text, flags=re.M | re.S)
    assert questions, f"{source.name}: no 'Check your understanding' section"
    asked = re.findall(r"^(\d+)\. ", questions.group(2), flags=re.M)
    answered = re.findall(r"^(\d+)\. ", answer_key.lesson_key(source).answers, flags=re.M)
    assert asked and asked == answered, f"{source.name}: questions {asked}, answers {answered}"
    assert "<details" not in text and "PAPER.md" not in text
