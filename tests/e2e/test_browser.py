"""The student's loop in a real JupyterLab, driven in headless Chromium through Playwright.

For every lesson in release/: click an option of each quiz, see "Answer recorded" and find it in answers.json,
restart the kernel and see the choices restored; in lessons 00, 01 and 05, first run the whole lesson (plots
render as images, progress bars show), and in lesson 00, which teaches it, press nbgrader's Validate. In Korean
and Japanese (release/ko/, release/ja/): a lesson runs with its text, plots and quiz in that language, and no
character is missing from the plots' fonts. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course.grading.samples import answer_key, solved_notebook
from course.languages import TRANSLATED, say
from course.languages.translations import load_lesson
from tests.conftest import LAYOUT, ROOT
from tests.servers import free_port, stop_group

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
RELEASED = LAYOUT.lessons()
# Validate re-runs the whole notebook; the visible tests it runs are nbval's and the grading round trip's too, so
# the button is pressed in the lesson that teaches it, not in every lesson again.
VALIDATED = "00-orientation"
TRANSLATED_LESSON = "01-beyond-the-prompt"  # fast, and its plots and tables carry computed text
# Lessons run whole in JupyterLab (no error, plots as images, progress bars as widgets): the one that teaches
# Validate, the one read in Korean and Japanese, and the longest. nbval runs every lesson's cells; in the others
# the browser checks what only it can, the quizzes (render, record, restore after a restart).
RUN_WHOLE = {VALIDATED, TRANSLATED_LESSON, "05-fine-tuning-and-peft"}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]

if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no chromium on PATH: .ci/run installs Debian's chromium", pytrace=False)
    pytestmark = pytest.mark.skip(reason="no chromium on PATH (apt-get install chromium); runs in CI")
else:
    pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 over a copy of release/ whose exercises are solved; stopped by PID."""
    root = tmp_path_factory.mktemp("lab")
    folders = [(lesson, LAYOUT.release_dir(lesson), root / lesson) for lesson in RELEASED]
    folders += [
        (TRANSLATED_LESSON, LAYOUT.translated_release_dir(TRANSLATED_LESSON, lang), root / lang / TRANSLATED_LESSON)
        for lang in TRANSLATED
    ]
    for lesson, released, folder in folders:
        shutil.copytree(released, folder)
        for notebook in folder.glob("*.ipynb"):
            solved = solved_notebook(notebook, LAYOUT.source_notebook(lesson, notebook.stem))
            notebook.write_text(json.dumps(solved, ensure_ascii=False), encoding="utf-8")
    port, token = free_port(), secrets.token_hex(16)
    settings = root / ".lab-settings"
    # render every cell (no windowing, so cell N in the DOM is cell N of the notebook), and no news pop-up
    for plugin, value in [
        ("notebook-extension/tracker", {"windowingMode": "defer"}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
    ]:
        target = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        JUPYTERLAB_SETTINGS_DIR=str(settings),
    )
    env.pop("COURSE_LANG", None)  # each notebook's own language decides, as for a student
    log = (root / "jupyter.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.workspaces_dir={root / '.workspaces'}",
            "--LabApp.expose_app_in_browser=True",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; see {root / 'jupyter.log'}", pytrace=False)
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        stop_group(server)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield instance
        instance.close()


def _quiz_cells(lesson: str) -> list[tuple[int, str]]:
    cells = json.loads(LAYOUT.release_notebook(lesson).read_text())["cells"]
    found = []
    for index, cell in enumerate(cells):
        text = "".join(cell["source"])
        if text.startswith(f'ask("{lesson}", "'):
            found.append((index, text.split('"')[3]))
    return found


def _uses_progress_bars(lesson: str) -> bool:
    """Whether the lesson, or a course module it imports, shows tqdm progress bars."""
    cells = json.loads(LAYOUT.release_notebook(lesson).read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    sources = [text]
    for package, names in re.findall(r"from (course[\w.]*) import ([\w, ]+)", text):
        for name in [package, *(f"{package}.{n.strip()}" for n in names.split(","))]:
            path = ROOT / Path(*name.split("."))
            for candidate in (path.with_suffix(".py"), path / "__init__.py"):
                if candidate.is_file():
                    sources.append(candidate.read_text())
    return any("tqdm" in source for source in sources)


def _setup_cell(lesson: str) -> int:
    """Index of the cell that imports the quiz widget."""
    cells = json.loads(LAYOUT.release_notebook(lesson).read_text())["cells"]
    return next(i for i, c in enumerate(cells) if "from course.quiz import" in "".join(c["source"]))


class Notebook:
    """Helpers over one open notebook, through JupyterLab's command registry (window.jupyterapp)."""

    def __init__(self, page, shot: Path):
        self.page, self.shot = page, shot

    def fail(self, message: str):
        self.page.screenshot(path=str(self.shot), full_page=False)
        pytest.fail(f"{message} (screenshot: {self.shot})", pytrace=False)

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def wait_idle(self, timeout_s: float = 300):
        """Wait until the kernel is idle and no cell is running or queued, three polls in a row."""
        deadline, calm = time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline:
            time.sleep(0.4)
            status = self.js("() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status")
            busy = self.js(
                "() => Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
                ".some(p => p.textContent.includes('*'))"
            )
            calm = calm + 1 if status == "idle" and not busy else 0
            if calm == 3:
                return
        self.fail(f"kernel still busy after {timeout_s} s")

    def run_cell(self, index: int):
        self.js("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
        self.js("() => window.jupyterapp.commands.execute('notebook:run-cell')")
        self.wait_idle()

    def panel(self) -> str:
        """CSS selector of the open notebook (other notebooks' cells stay in the DOM in hidden tabs)."""
        return "#" + self.js("() => window.jupyterapp.shell.currentWidget.id")

    def cell(self, index: int):
        return self.page.locator(f"{self.panel()} .jp-Cell").nth(index)

    @classmethod
    def open(cls, browser, lab: dict, path: str, name: str) -> Notebook:
        """Open ``path`` (relative to the lab's root) in a new page once its kernel is idle; a failure's
        screenshot is ``<name>-failure.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        nb = cls(page, ARTIFACTS / f"{name}-failure.png")
        # ?reset: a fresh workspace, so notebooks from earlier tests are not reopened beside this one
        page.goto(f"{lab['url']}/lab/tree/{path}?reset&token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel", timeout=90_000
        )
        nb.wait_idle()
        return nb


def test_student_loop_in_jupyterlab(lab, browser, lesson_name):
    lesson = lesson_name
    nb = Notebook.open(browser, lab, f"{lesson}/{lesson}.ipynb", lesson)
    page = nb.page
    answers = lab["root"] / lesson / "answers.json"
    key = answer_key(LAYOUT, lesson)

    quizzes = _quiz_cells(lesson)
    if lesson in RUN_WHOLE:
        # the whole lesson, as a student runs it: no errors, plots as images, progress bars where work is long
        nb.js("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        nb.wait_idle()
        panel = nb.panel()
        if page.locator(f"{panel} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").count():
            nb.fail(f"{lesson}: a cell raised an error when run in JupyterLab")
        if page.locator(f"{panel} .jp-OutputArea-output img").count() == 0:
            nb.fail(f"{lesson}: no plot rendered as an image")
        bars = page.locator(f"{panel} .jp-OutputArea-output .widget-hprogress, {panel} .jp-OutputArea-output progress")
        if _uses_progress_bars(lesson) and bars.count() == 0:
            nb.fail(f"{lesson}: no progress bar shown")
    else:  # nbval runs every cell of it; here what only a browser shows: its quizzes
        nb.run_cell(_setup_cell(lesson))
        for index, _ in quizzes:
            nb.run_cell(index)

    for index, question in quizzes:
        cell = nb.cell(index)
        try:
            cell.locator(".course-quiz").wait_for(timeout=30_000)
        except Exception:
            nb.fail(f"{lesson}: quiz {question} did not render")
        options = cell.locator(".widget-radio-box label, .widget-checkbox input")
        options.nth(1 if options.count() > 1 else 0).click()
        try:
            cell.get_by_text("Answer recorded").wait_for(timeout=15_000)
        except Exception:
            nb.fail(f"{lesson}: no 'Answer recorded' after clicking {question}")
        if question not in json.loads(answers.read_text())["answers"]:
            nb.fail(f"{lesson}: {question} not in {answers}")
        cell.screenshot(path=str(ARTIFACTS / f"{lesson}-{question}.png"))

    # a fresh kernel: re-running the quiz cells shows the recorded choices again
    nb.js("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    nb.wait_idle()
    nb.run_cell(_setup_cell(lesson))
    for index, question in quizzes:
        nb.run_cell(index)
        if nb.cell(index).get_by_text("restored from your answers file").count() == 0:
            nb.fail(f"{lesson}: {question} not restored after a kernel restart")

    if lesson != VALIDATED:
        page.close()
        return
    # leave the graded answers right, so that Validate below checks a fully solved notebook
    from course.quiz.store import record_answer

    for question, choice in key.items():
        record_answer(question, choice, answers)

    page.locator(".validate-button button, button.validate-button, .validate-button").first.click()
    try:
        page.locator("#validation-message").wait_for(timeout=240_000)
    except Exception:
        nb.fail(f"{lesson}: Validate showed no report")
    page.screenshot(path=str(ARTIFACTS / f"{lesson}-validate.png"))
    page.close()


def pytest_generate_tests(metafunc):
    if "lesson_name" in metafunc.fixturenames:
        metafunc.parametrize("lesson_name", RELEASED)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_lesson_reads_in_its_language(lab, browser, lang):
    """The translated release as a student opens it: markdown, printed and plotted text and the quiz widget in
    its language, every plot's characters in its fonts (matplotlib warns of a missing glyph in the output)."""
    lesson = TRANSLATED_LESSON
    nb = Notebook.open(browser, lab, f"{lang}/{lesson}/{lesson}.ipynb", f"{lang}-{lesson}")
    page = nb.page
    nb.js("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    nb.wait_idle()
    panel = nb.panel()
    if page.locator(f"{panel} .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").count():
        nb.fail(f"{lang}: a cell raised an error when run in JupyterLab")
    outputs = page.locator(f"{panel} .jp-OutputArea-output").all_inner_texts()
    missing = [text for text in outputs if "missing from font" in text or "findfont" in text]
    if missing:
        nb.fail(f"{lang}: plots lack a font for some characters: {missing[0][:200]}")
    title = next(iter(load_lesson(lesson, lang).values()))["text"].splitlines()[0].lstrip("# ")
    if title.strip() not in page.locator(f"{panel} .jp-MarkdownOutput h1").first.inner_text():
        nb.fail(f"{lang}: the lesson's title is not the translated one")
    plot = page.locator(f"{panel} .jp-OutputArea-output img").first
    plot.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{lang}-{lesson}-plot.png"))
    index, question = _quiz_cells(lesson)[0]
    cell = nb.cell(index)
    cell.locator(".course-quiz").wait_for(timeout=30_000)
    cell.locator(".widget-radio-box label, .widget-checkbox input").first.click()
    recorded = say("quiz.recorded", lang, chosen="").split("<b>")[0].strip()
    try:
        cell.get_by_text(recorded).wait_for(timeout=15_000)
    except Exception:
        nb.fail(f"{lang}: the quiz did not answer {recorded!r}")
    cell.screenshot(path=str(ARTIFACTS / f"{lang}-{lesson}-{question}.png"))
    page.close()
