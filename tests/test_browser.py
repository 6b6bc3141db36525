"""The course in a real browser: JupyterLab in headless Chromium, and the built pages offline.

JupyterLab runs on 127.0.0.1 with a token and opens copies of lessons 01, 02, 03 and 10 (quick mode,
as a student gets them: no solutions, so every check says "not attempted yet"). Each lesson runs to
the end without an error; then each widget's main control is moved as a student would (keyboard on a
slider, a choice in a drop-down) and the figure must change (pixels of the widget's image compared)
with no error shown. The built HTML page of 03 is opened with the network blocked and its equations
must be typeset; its slide deck is walked to the end. Every request that leaves 127.0.0.1 or the
disk is refused and must not happen.

Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright through its executable path;
no browser is ever downloaded. Without it the tests skip with that reason, except where
``LAPSRN_EDU_BROWSER_REQUIRED=1`` (``.ci/run`` sets it): there they fail. Screenshots go to
``build/browser/``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lapsrn_edu.course import build as course
from lapsrn_edu.course.widgets import STATIC_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LESSONS = ("01", "02", "03", "10")
SHOTS = course.REPO_ROOT / "build" / "browser"
RUN_TIMEOUT_S = 420  # one lesson, quick mode, on a busy 2-core CPU
REDRAW_TIMEOUT_S = 30
MIN_CHANGED = 0.002  # fraction of the figure's pixels a redraw must change


def browser_or_skip() -> None:
    """Skip (or, where the browser is required, fail) without Chromium or Playwright."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install 'lapsrn-edu[browser]')")
    if missing:
        message = f"browser tests need {' and '.join(missing)}"
        if os.environ.get("LAPSRN_EDU_BROWSER_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lesson_copy(number: str, folder: Path) -> Path:
    """Lesson ``number`` with QUICK injected after its parameters cell, as papermill does."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    source = course.course_notebooks(number)[0]
    nb = parameterize_notebook(load_notebook_node(str(source)), {"QUICK": True, "SOLUTIONS": False})
    target = folder / source.name
    nbformat.write(nb, target)
    return target


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 (token, nothing fetched from outside) over copies of the lessons."""
    browser_or_skip()
    root = tmp_path_factory.mktemp("lab")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    for number in LESSONS:
        lesson_copy(number, notebooks)
    config = root / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "LabApp": {
                    "news_url": None,
                    "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                    "extension_manager": "readonly",
                },
            }
        )
    )
    notification = root / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no "news?" toast
    port, token = free_port(), secrets.token_hex(16)
    env = {key: value for key, value in os.environ.items() if key not in (STATIC_ENV, "MPLBACKEND")}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTER_PREFER_ENV_PATH="1")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={notebooks}",
        "--expose-app-in-browser",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        f"--LabApp.user_settings_dir={root / 'settings'}",
        "--KernelManager.transport_encryption=auto",  # as `make lab`: no TCP warning per kernel
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=notebooks)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"JupyterLab did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield {"base": base, "token": token, "notebooks": notebooks, "log": root / "server.log"}
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile; every request to anything but 127.0.0.1 or a file is
    refused and recorded in ``.refused``."""
    browser_or_skip()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.refused = []  # type: ignore[attr-defined]  # our record on the context: the requests refused

        def gate(route):
            url = route.request.url
            if url.startswith(("file://", "data:", "blob:", "http://127.0.0.1", "ws://127.0.0.1")):
                route.continue_()
            else:
                context.refused.append(url)  # type: ignore[attr-defined]  # see above
                route.abort()

        context.route("**/*", gate)
        yield context
        context.close()


def png_pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def changed_fraction(before: bytes, after: bytes) -> float:
    """Fraction of pixels that differ between two screenshots (1.0 if their sizes differ)."""
    a, b = png_pixels(before), png_pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float(np.mean(np.abs(a - b).max(axis=-1) > 8))


PANEL = """(name) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === name && widget.sessionContext) return widget;
  }
  return null;
}"""

NOTEBOOK_STATE = (
    """(name) => {
  const panel = (%s)(name);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) return null;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const cell of cells) {
    for (let i = 0; i < cell.model.outputs.length; i++) {
      const out = cell.model.outputs.get(i).toJSON();
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  return {
    cells: cells.length,
    unrun: cells.filter(c => c.model.executionCount === null).length,
    busy: cells.filter(c => c.promptNode && c.promptNode.textContent.includes('*')).length,
    errors: errors,
    kernel: kernel.name,
    status: kernel.status,
  };
}"""  # noqa: UP031 (JavaScript: str.format or an f-string would need every brace doubled)
    % PANEL
)


def open_and_run(page, lab, name: str, workspace: str) -> dict:
    """Open a lesson in JupyterLab (its own empty workspace), wait for its kernel, run every
    cell, wait for the last one; returns the notebook's state (errors, kernel)."""
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{name}?reset&token={lab['token']}")
    page.wait_for_function(
        "(name) => { const s = (" + NOTEBOOK_STATE + ")(name); return s && s.status === 'idle'; }",
        arg=name,
        timeout=120_000,
    )
    page.evaluate(
        "(name) => { const panel = (" + PANEL + ")(name); window.jupyterapp.shell.activateById(panel.id); "
        "return window.jupyterapp.commands.execute('notebook:run-all-cells'); }",
        name,
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        state = page.evaluate(NOTEBOOK_STATE, name)
        if state["errors"] or (state["unrun"] == 0 and state["busy"] == 0 and state["status"] == "idle"):
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{name} still running after {RUN_TIMEOUT_S} s: {state}")
        time.sleep(1)


def shut_down(page, name: str) -> None:
    """Stop the lesson's kernel (the machine has two cores; the next lesson needs them)."""
    page.evaluate(
        "(name) => { const panel = (" + PANEL + ")(name); return panel && panel.sessionContext.shutdown(); }", name
    )


def move(explorer, description: str, how: str):
    """Move one control of a widget as a person would: ``how`` is ``right`` (arrow key on a
    slider's handle) or an option's label (drop-down)."""
    row = explorer.locator(".widget-inline-hbox", has=explorer.page.locator(f"label:text-is('{description}')"))
    if how == "right":
        handle = row.locator(".noUi-handle")
        handle.focus()
        handle.press("ArrowRight")
    else:
        row.locator("select").select_option(label=how)


def readout(explorer, description: str) -> str:
    """A slider's readout, once the widget has written it: ipywidgets fills the readout after the
    slider is on the page, so a busy machine can show an empty one for a moment (CI read '')."""
    row = explorer.locator(".widget-inline-hbox", has=explorer.page.locator(f"label:text-is('{description}')"))
    element = row.locator(".widget-readout")
    element.wait_for(state="attached", timeout=REDRAW_TIMEOUT_S * 1000)
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    text = (element.text_content() or "").strip()
    while not text and time.monotonic() < deadline:
        time.sleep(0.2)
        text = (element.text_content() or "").strip()
    return text


def redraw(page, explorer, description: str, how: str, shot: str) -> tuple[float, float]:
    """Move a control, wait for the figure to change, keep a screenshot; returns (seconds from the
    move to the new image, fraction of changed pixels)."""
    image = explorer.locator("img").first
    before_src = image.get_attribute("src")
    before = image.screenshot()
    start = time.perf_counter()
    move(explorer, description, how)
    page.wait_for_function(
        "([img, src]) => img.getAttribute('src') !== src && img.complete",
        arg=[image.element_handle(), before_src],
        timeout=REDRAW_TIMEOUT_S * 1000,
    )
    seconds = time.perf_counter() - start
    after = image.screenshot(path=str(SHOTS / shot))
    return seconds, changed_fraction(before, after)


def assert_no_widget_error(page, explorer, name: str) -> None:
    errors = explorer.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    assert errors.count() == 0, f"{name}: the widget shows an error: {errors.first.inner_text()[:500]}"
    assert page.get_by_text("Error displaying widget").count() == 0, f"{name}: a widget could not be displayed"


# lesson -> [(control, how it is moved)]; the first is the widget's main control
MOVES: dict[str, list[tuple[str, str | None]]] = {
    "01": [("level shown", "right"), ("image", None)],
    "02": [("scale", "4"), ("contrast", "right")],
    "03": [("eps", "right"), ("x range", "right")],
    "10": [("scale", "4"), ("contrast", "right")],
}


@pytest.mark.parametrize("number", LESSONS)
def test_lesson_runs_and_its_widget_redraws_in_jupyterlab(number, lab, browser):
    name = next(p.name for p in lab["notebooks"].glob(f"{number}_*.ipynb"))
    page = browser.new_page()
    try:
        state = open_and_run(page, lab, name, f"lesson{number}")
        assert state["errors"] == [], f"{name}: {state['errors']}"
        assert state["kernel"] == "python3"  # JupyterLab of .venv: its Python (docs/course.md, `make lab`)
        page.screenshot(path=str(SHOTS / f"{number}_lab.png"))
        explorers = page.locator(".lapsrn-explorer")
        with contextlib.suppress(Exception):  # the cell has finished; its widget renders a moment later
            explorers.first.wait_for(state="attached", timeout=REDRAW_TIMEOUT_S * 1000)
        if number == "10" and explorers.count() == 0:
            pytest.skip("10 shows its widget only with the MS-LapSRN weights (lapsrn-edu download weights)")
        assert explorers.count() == 1, f"{name}: expected one widget"
        explorer = explorers.first
        explorer.scroll_into_view_if_needed()
        assert_no_widget_error(page, explorer, name)
        if number == "03":
            assert readout(explorer, "x range") == "0.05"  # the slider starts at the code's default
        explorer.screenshot(path=str(SHOTS / f"{number}_widget_before.png"))
        for k, (description, how) in enumerate(MOVES[number]):
            if how is None:  # the second image of the drop-down
                how = (
                    explorer.locator(".widget-inline-hbox", has=page.locator(f"label:text-is('{description}')"))
                    .locator("option")
                    .nth(1)
                    .inner_text()
                )
            seconds, changed = redraw(
                page, explorer, description, how, f"{number}_widget_{k + 1}_{description.replace(' ', '_')}.png"
            )
            print(f"{name}: {description} -> {how}: figure changed in {seconds:.2f} s ({changed:.1%} of its pixels)")
            assert changed > MIN_CHANGED, f"{name}: moving {description!r} left the figure as it was"
            assert_no_widget_error(page, explorer, name)
        explorer.screenshot(path=str(SHOTS / f"{number}_widget_after.png"))
    finally:
        with contextlib.suppress(Exception):  # cleaning up must not hide why the test failed
            shut_down(page, name)
        page.close()
    assert browser.refused == [], f"requests that left the machine: {browser.refused}"


@pytest.fixture(scope="module")
def built_03():
    """Lesson 03 run by the course runner (quick mode) into build/browser/course: page and deck."""
    out = SHOTS / "course"
    runs = course.run_course("quick", out, only="03", check=False)
    assert runs[0].ok, runs[0].error
    return runs[0]


def test_built_page_of_03_typesets_its_equations_offline(built_03, browser):
    page = browser.new_page()
    browser.set_offline(True)
    try:
        page.goto(built_03.html.as_uri())
        page.wait_for_function(
            "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && "
            "document.querySelectorAll('.MathJax').length > 0",
            timeout=60_000,
        )
        typeset = page.locator(".MathJax").count()
        sources = page.locator("script[type^='math/tex']").count()
        text = page.inner_text("body")
        heading = page.get_by_role("heading", name="1. Three penalties")
        heading.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "03_page_equations.png"))
    finally:
        browser.set_offline(False)
        page.close()
    assert typeset >= 20 and typeset == sources, f"{typeset} typeset of {sources} formulas"
    assert "$$" not in text and "\\varepsilon" not in text and "Math Processing Error" not in text
    assert browser.refused == [], f"requests that left the machine: {browser.refused}"


def test_slide_deck_of_03_walks_to_its_end_offline(built_03, browser):
    page = browser.new_page()
    browser.set_offline(True)
    try:
        page.goto(built_03.slides.as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=60_000)
        total = page.evaluate("Reveal.getTotalSlides()")
        assert total >= 3, f"the deck of 03 has {total} slides; its lesson tags the key figures and equations"
        page.evaluate("() => Reveal.on('slidetransitionend', () => { window.moved = true; })")
        seen = []
        for k in range(total):
            page.wait_for_function("() => !window.MathJax || MathJax.Hub.queue.pending === 0", timeout=30_000)
            page.screenshot(path=str(SHOTS / f"03_slide_{k + 1}.png"))
            seen.append(
                page.evaluate(
                    "() => { const slide = Reveal.getCurrentSlide(); return {"
                    "index: Reveal.getIndices().h, figures: slide.querySelectorAll('img').length, "
                    "formulas: slide.querySelectorAll('.MathJax').length}; }"
                )
            )
            if k < total - 1:  # the next slide, by keyboard as a lecturer would; wait for its transition
                page.evaluate("() => { window.moved = false; }")
                page.keyboard.press("ArrowRight")
                page.wait_for_function("() => window.moved", timeout=30_000)
        assert [s["index"] for s in seen] == list(range(total))
        assert sum(s["figures"] for s in seen) >= 1 and sum(s["formulas"] for s in seen) >= 1, seen
        assert page.evaluate("Reveal.isLastSlide()")
    finally:
        browser.set_offline(False)
        page.close()
    assert browser.refused == [], f"requests that left the machine: {browser.refused}"
