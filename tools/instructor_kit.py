"""Build the instructor kit: ``dist/lapsrn_edu_instructor-<version>-py3-none-any.whl`` (``make instructor-kit``).

The wheel students get (``make wheel``) holds no answer key and no lecturer's guide. This second
wheel holds them: the package ``lapsrn_edu_instructor``, whose folder carries every file of
``lapsrn_edu/course/instructor/`` (one answer key per lesson, the guide, ``grading.md`` with the
graders' points and hidden probes). A lecturer installs it beside the student wheel, with the same
command; ``lapsrn-edu course --instructor`` and ``lapsrn-edu assignment`` then find it
(:func:`lapsrn_edu.course.answer_key.instructor_dir`). A wheel rather than a zip: pip installs,
upgrades and removes it like the course itself, it requires the same version of lapsrn-edu, and no
command needs a path to it.

    python tools/instructor_kit.py [--out dist]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lapsrn_edu import __version__  # noqa: E402
from lapsrn_edu.course.answer_key import INSTRUCTOR_DIR, KIT_PACKAGE  # noqa: E402

PYPROJECT = """[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "lapsrn-edu-instructor"
version = "{version}"
description = "Answer keys, lecturer's guide and grading probes of the lapsrn-edu course (for lecturers only)."
requires-python = ">=3.10"
license = "MIT"
dependencies = ["lapsrn-edu=={version}"]

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["*.md"]
"""
INIT = '''"""The instructor material of the lapsrn-edu course: one answer key per lesson, the lecturer's
guide, the graders' probes. Not for students. ``lapsrn-edu course --instructor`` finds it here."""
'''


def build_kit(out: Path) -> Path:
    """Write the kit's wheel into ``out``; returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "pyproject.toml").write_text(
            PYPROJECT.format(version=__version__, package=KIT_PACKAGE), encoding="utf-8"
        )
        package = project / KIT_PACKAGE
        package.mkdir()
        (package / "__init__.py").write_text(INIT, encoding="utf-8")
        for path in sorted(INSTRUCTOR_DIR.glob("*.md")):
            shutil.copy2(path, package / path.name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
            + ["-w", str(out.resolve()), str(project)],
            check=True,
        )
    return next(out.glob(f"{KIT_PACKAGE}-{__version__}-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dist", help="where the wheel goes (default: dist)")
    print(build_kit(Path(parser.parse_args().out)))


if __name__ == "__main__":
    main()
