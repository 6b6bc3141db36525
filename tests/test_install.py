"""The package outside the repository: the wheel, installed (not editable) in a fresh virtual
environment, evaluates our shipped model and runs a shipped notebook.

The fresh environment gets no copy of torch: a ``.pth`` file puts this environment's
site-packages after its own, so it reuses what is installed here (torch, numpy, Jupyter; their
data files through ``JUPYTER_PATH``) while ``lapsrn_edu`` itself can only come from the wheel.
Nothing is downloaded: the wheel is built with this environment's setuptools
(``--no-build-isolation``) and installed with ``--no-index``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from lapsrn_edu.course import build as course
from lapsrn_edu.course.widgets import STATIC_ENV

pytestmark = pytest.mark.slow


def run(command: list, cwd: Path, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def source_tree(target: Path) -> Path:
    """The repository's files as a fresh clone has them (tracked, plus new files not ignored)."""
    repo = course.REPO_ROOT
    if not (repo / ".git").exists() or shutil.which("git") is None:
        pytest.skip("the wheel is built from a git checkout of the repository")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (repo / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel and install it in a new virtual environment; returns its paths."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"building the wheel needs setuptools>=77 here (the dev extra); found {setuptools.__version__}")
    tmp = tmp_path_factory.mktemp("wheel")
    source = source_tree(tmp / "source")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            tmp / "dist",
            source,
        ],
        tmp,
    )
    wheel = next((tmp / "dist").glob("lapsrn_edu-*.whl"))
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel], tmp)
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout.strip())
    reused = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_reuse_dependencies.pth").write_text("\n".join(reused) + "\n")
    env = {key: value for key, value in os.environ.items() if key not in ("LAPSRN_EDU_DATA", "PYTHONPATH", STATIC_ENV)}
    env["LAPSRN_EDU_MIRROR"] = "http://127.0.0.1:9"  # nothing may be fetched
    # the reused packages' data files (nbconvert's templates, the python3 kernel) stay under this
    # environment's share/jupyter, where an install of lapsrn-edu[course] into the venv would put them
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return {"wheel": wheel, "source": source, "venv": venv, "python": python, "site": site, "env": env, "cwd": tmp}


def test_the_wheel_holds_every_module_our_models_and_the_notebooks(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    package = installed["source"] / "lapsrn_edu"
    modules = {f"lapsrn_edu/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    assert modules <= names, f"missing from the wheel (add the package to pyproject.toml): {sorted(modules - names)}"
    for model in sorted((installed["source"] / "data" / "models").glob("*.pt")):
        assert f"lapsrn_edu/trained_models/{model.name}" in names
    for notebook in sorted((installed["source"] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"lapsrn_edu/notebooks/{notebook.name}" in names
    assert "lapsrn_edu/docs/paper.md" in names and "lapsrn_edu/course/pages/further_reading.md" in names
    # the wheel students get: no answer key, no lecturer's guide (the instructor kit has them)
    assert not [name for name in names if name.startswith("lapsrn_edu/course/instructor/")]


def test_installed_package_evaluates_our_shipped_model(installed):
    probe = run(
        [
            installed["python"],
            "-c",
            "import lapsrn_edu.evaluation.zoo as z; print(z.__file__); print(z.ours_path('ours-x4'))",
        ],
        installed["cwd"],
        installed["env"],
    ).stdout.split()
    assert all(Path(p).is_relative_to(installed["site"]) for p in probe), probe  # not the repository's copy
    result = run(
        [
            installed["venv"] / "bin" / "lapsrn-edu",
            "evaluate",
            "--model",
            "ours-x4",
            "--dataset",
            "embedded",
            "--scale",
            "4",
        ],
        installed["cwd"],
        installed["env"],
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "ours-x4 x4 on embedded"
    mean = next(line for line in lines if line.startswith("mean")).split()
    assert 20 < float(mean[1]) < 40, result.stdout


def test_installed_course_runs_the_notebooks_it_ships(installed):
    out = installed["cwd"] / "build"
    result = run(
        [installed["venv"] / "bin" / "lapsrn-edu", "course", "--quick", "--only", "00", "--out", out],
        installed["cwd"],
        installed["env"],
        timeout=600,
    )
    assert "00_welcome" in result.stdout and "ok" in result.stdout, result.stdout
    assert (out / "00_welcome.html").is_file() and (out / "slides" / "00_welcome.slides.html").is_file()
    assert (out / "assets" / "mathjax" / "MathJax.js").is_file()
    # the lessons' links to the paper page land on the page the build made from the wheel's copy
    assert 'href="paper.html#the-idea"' in (out / "00_welcome.html").read_text(encoding="utf-8")
    assert 'id="the-idea"' in (out / "paper.html").read_text(encoding="utf-8")


def test_the_student_wheel_says_in_one_line_where_the_instructor_material_comes_from(installed):
    result = subprocess.run(
        [installed["venv"] / "bin" / "lapsrn-edu", "course", "--instructor", "--only", "00", "--out", "b"],
        cwd=installed["cwd"],
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "make instructor-kit" in result.stderr and "lapsrn_edu_instructor" in result.stderr
    assert not (installed["cwd"] / "b" / "00_welcome.html").exists()


def test_a_lesson_copied_alone_into_an_empty_folder_runs(installed, tmp_path):
    """A student opens one notebook with no clone around it (Colab, VS Code): its first cell finds
    the installed package and says where the data root is; offline, the lesson still runs."""
    lesson = installed["source"] / "notebooks" / "01_laplacian_pyramids.ipynb"
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(lesson, alone / lesson.name)
    env = {**installed["env"], "HOME": str(tmp_path / "home")}  # the installed data root is ~/lapsrn-edu-data
    run(
        [
            installed["python"],
            "-m",
            "papermill",
            lesson.name,
            "executed.ipynb",
            "-p",
            "QUICK",
            "True",
            "--kernel",
            "python3",
        ],
        alone,
        env,
        timeout=600,
    )
    import nbformat

    executed = nbformat.read(alone / "executed.ipynb", as_version=4)
    first = next(c for c in executed.cells if c.cell_type == "code")
    said = "".join(o.get("text", "") for o in first.outputs)
    assert "get_ready()" in first.source
    assert f"from {installed['site'] / 'lapsrn_edu'}" in said, said  # the wheel's package, not the repository's
    assert f"data root {tmp_path / 'home' / 'lapsrn-edu-data'}" in said, said
    assert "not downloaded" in said and "://" not in said, said  # offline: a sentence, no URL; the lesson goes on
    paper = said.split("installed here: ")[1].split()[0]  # the lessons' links to docs/paper.md lead nowhere here
    assert Path(paper).is_file() and Path(paper).is_relative_to(installed["site"]), said
    pages = Path(said.split("further reading) are in: ")[1].split()[0])  # lesson 01 links the spectra primer
    assert (pages / "spectra.md").is_file() and pages.is_relative_to(installed["site"]), said
    assert sorted(p.name for p in alone.iterdir()) == ["01_laplacian_pyramids.ipynb", "executed.ipynb"]


def test_the_first_cell_names_the_install_command_when_the_package_is_missing(tmp_path):
    """Without the package, the first cell stops with one line saying what to install."""
    import nbformat

    nb = nbformat.read(course.notebook_dir() / "01_laplacian_pyramids.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    script = tmp_path / "first_cell.py"
    script.write_text(first.replace("get_ready()", "get_ready(fetch=False)"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "needs the lapsrn-edu package" in result.stderr and "pip install" in result.stderr
    assert "Traceback" not in result.stderr


# The package's modules are the reference implementation that the checks compare against, so a
# solution's code line may well appear in one (mod_crop for 9.1, ssim for 9.4, or a generic line
# such as `if x is not None:`): a student imports that code anyway, and the guide says how to grade
# an answer that calls it. What no file of the wheel may hold is an answer to a question.


def tolerated(name: str, what: str) -> bool:
    """A needle found in the module ``name`` of the wheel that the test accepts (see above)."""
    return name.endswith(".py") and "Exercise" in what


def wheel_words(wheel: Path) -> dict[str, str]:
    """Every text file of a wheel, reduced to its words as tests/test_builds.py reads a file."""
    from test_builds import words

    with zipfile.ZipFile(wheel) as archive:
        return {
            name: words(archive.read(name).decode("utf-8", errors="replace"))
            for name in archive.namelist()
            if name.endswith((".py", ".md", ".ipynb", ".json", ".j2", ".txt"))
        }


@pytest.fixture(scope="module")
def kit(installed) -> Path:
    """The instructor kit's wheel, built as `make instructor-kit` builds it."""
    sys.path.insert(0, str(installed["source"] / "tools"))
    try:
        from instructor_kit import build_kit
    finally:
        sys.path.pop(0)
    return build_kit(installed["cwd"] / "kit")


def test_the_student_wheel_holds_no_solution_and_no_answer(installed):
    from test_builds import needles

    found = needles()
    assert len(found) >= 83
    leaks = [
        f"{name}: {what}"
        for name, text in wheel_words(installed["wheel"]).items()
        for what, needle in found.items()
        if needle in text and not tolerated(name, what)
    ]
    assert not leaks, "\n".join(leaks[:20])
    notebooks = [name for name in wheel_words(installed["wheel"]) if name.endswith(".ipynb")]
    assert len(notebooks) == len(course.course_notebooks())  # the lessons themselves were searched


def test_the_instructor_kit_holds_every_key_the_guide_and_the_grading_probes(installed, kit):
    from test_builds import needles

    files = wheel_words(kit)
    text = " ".join(files.values())
    missing = [what for what, needle in needles().items() if needle not in text]
    assert not missing, "\n".join(missing[:20])
    for name in ("guide.md", "grading.md", "02_architecture.md"):
        assert f"lapsrn_edu_instructor/{name}" in files
    # installed beside the student wheel, the instructor material is found there
    run(
        [sys.executable, "-m", "pip", "--python", installed["python"], "install", "-q", "--no-deps", "--no-index", kit],
        installed["cwd"],
    )
    probe = run(
        [installed["python"], "-c", "from lapsrn_edu.course import answer_key; print(answer_key.guide_path())"],
        installed["cwd"],
        installed["env"],
    ).stdout.strip()
    assert probe.endswith("lapsrn_edu_instructor/guide.md") and Path(probe).is_relative_to(installed["site"]), probe
