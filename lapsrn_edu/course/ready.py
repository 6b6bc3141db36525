"""Make a lesson ready wherever it is opened: a clone, Colab, VS Code, or one downloaded file.

Every lesson's first code cell imports :func:`get_ready` (when the package itself is missing,
that cell says in one line how to install it) and calls it. It says which lapsrn-edu runs and
where its data root is, and fetches what the lessons use (the official weights, Set5 and Set14)
when it is missing: each file verified, present files skipped without a request, and offline or
read-only nothing fails, since the lessons fall back to the images that ship with scikit-image.
Opened outside a clone, where the lessons' links to ``../docs/paper.md`` and to the course pages
(``../lapsrn_edu/course/pages/``: the spectra primer, the glossary, further reading) lead nowhere,
it says where the copies installed with the package are.
"""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..data.datasets import data_root
from .build import PAPER_PAGES, fetch_course_data


def get_ready(fetch: bool = True) -> None:
    """Print the package and data root this lesson uses; with ``fetch``, get the course data if missing."""
    package = Path(__file__).resolve().parents[1]
    print(f"lapsrn-edu {__version__} from {package}; data root {data_root()}")
    if not Path("..", "docs", "paper.md").is_file() and PAPER_PAGES[1].is_file():  # not beside a clone's notebooks
        print(f"The paper page this lesson links to as docs/paper.md is installed here: {PAPER_PAGES[1]}")
        pages = package / "course" / "pages"
        print(f"The course pages it links to (spectra primer, glossary, further reading) are in: {pages}")
    if fetch:
        print(fetch_course_data())
