"""The classroom loop through nbgrader's exchange with real Unix users, then through a real JupyterHub (issue 21).

The shared course venv is built as the recipe builds it: the course installed in it, its reference solutions
hidden by deploy/jupyterhub/hide-references.sh.

First test: an instructor publishes lesson 00 to an exchange folder laid out as deploy/jupyterhub/ lays it out;
two students (real Unix accounts ``bp-s1`` and ``bp-s2``) fetch it and submit as themselves with nbgrader's own
exchange commands (what the Assignments panel calls), student 2 resubmits; ``course collect``, ``course grade``
and ``course return`` run as the instructor; each student fetches their feedback.

Second test: deploy/jupyterhub/jupyterhub_config.py on 127.0.0.1 (a test-only password), a grader and two students;
in headless Chromium each student logs in, opens the Assignments panel from the Nbgrader menu, fetches lesson 00,
opens it, runs its cells (the lesson cannot fall back on the reference solution: on the hub it is the grader's),
types the exercise into its cell, runs its checks, clicks the graded quiz's answer, saves, submits from the
panel, and after collect/grade/return fetches feedback in the panel and reads the score and the late note. The
students' JupyterLab has no formgrader, Create Assignment or Course List; the grader's has.
Screenshots go to test-artifacts/hub/.

Both: student 1 is late (due date in the past: 2 started days at 10% per day), student 2 has an extension into
the future; exact scores in grades.csv. The hub, its proxy and every user's server are stopped by process group
and the test users' processes, and every account created is removed, in ``finally``, pass or fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from course.grading.samples import answer_key, solved_notebook
from course.models.configs import load_config
from course.quiz.questions import load_questions
from tests.conftest import make_course_copy
from tests.servers import free_port, stop_group

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
HIDE_REFERENCES = REPO / "deploy" / "jupyterhub" / "hide-references.sh"
LESSON = "00-orientation"
# lesson 00's exercise as a student types it in JupyterLab (the hub test)
SOLUTION = '''def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of parameters of a linear layer with the given sizes."""
    return in_features * out_features + (out_features if bias else 0)'''
COURSE_ID = "beyond-prompting"
STUDENTS = ("bp-s1", "bp-s2")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
NEEDS = "the exchange test needs root (it creates Unix users) and useradd/runuser"


LEAN_ON_THE_REFERENCE = """
from course.fallback import yours_or_reference
def linear_parameters(in_features, out_features, bias=True):
    raise NotImplementedError()
yours_or_reference(linear_parameters, "00-orientation")(3, 2)
"""


def _require_root() -> None:
    if os.geteuid() == 0 and shutil.which("useradd") and shutil.which("runuser"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(NEEDS)
    pytest.skip(NEEDS)


def shared_python(folder: Path) -> Path:
    """The recipe's shared course venv: a Python every user can run, with the course installed in it (not
    editable: the course folder is the grader's alone) and its reference solutions hidden by
    deploy/jupyterhub/hide-references.sh.

    The suite's own interpreter may live where other users cannot reach it (pyenv under /root), so the venv is
    made from the system's Python 3.11; the course's dependencies come from this venv's site-packages (same
    version, same ABI), the course package is copied in as `pip install` would."""
    system = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    if not system:
        pytest.skip("no Python 3.11 that other users can run (the suite's own is private to its owner)")
    subprocess.run([system, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = folder / "lib" / "python3.11" / "site-packages"
    shutil.copytree(REPO / "course", site / "course", ignore=shutil.ignore_patterns("__pycache__"))
    dependencies = [p for p in sys.path if p.endswith("site-packages")]  # its .pth files (the editable course) unread
    (site / "dependencies.pth").write_text("\n".join(dependencies) + "\n")
    for tool in ("alembic", "jupyterhub-singleuser"):
        if (Path(sys.executable).parent / tool).exists():
            (folder / "bin" / tool).symlink_to(Path(sys.executable).parent / tool)
    for data in ("share/jupyter", "etc/jupyter"):  # nbconvert's templates, the lab and server extensions
        if (Path(sys.prefix) / data).is_dir():
            (folder / data).parent.mkdir(parents=True, exist_ok=True)
            (folder / data).symlink_to(Path(sys.prefix) / data)
    folder.chmod(0o755)
    hidden = subprocess.run([str(HIDE_REFERENCES), str(folder), "root"], capture_output=True, text=True)
    assert hidden.returncode == 0, hidden.stdout + hidden.stderr
    return folder / "bin" / "python"


@pytest.fixture(scope="module")
def student_python():
    _require_root()
    parent = Path(tempfile.mkdtemp(prefix="bp-venv-"))
    parent.chmod(0o755)
    try:
        yield shared_python(parent / "venv")
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _as(user: str, *args: str, cwd: Path, python: Path) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` as ``user`` in ``cwd`` with a clean HOME; the output on failure."""
    env = {
        "HOME": f"/home/{user}",
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "USER": user,
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(
        [RUNUSER, "-u", user, "--", str(python), "-m", "nbgrader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"nbgrader {' '.join(args)} as {user} failed:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture()
def users():
    _require_root()
    created = []
    try:
        for user in STUDENTS:
            subprocess.run(["userdel", "-r", user], capture_output=True)  # left over from an interrupted run
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
            created.append(user)
        yield created
    finally:
        for user in created:
            subprocess.run(["pkill", "-u", user], capture_output=True)  # only processes of the test's own users
            subprocess.run(["userdel", "-r", user], capture_output=True)


@pytest.fixture()
def exchange():
    """An exchange folder the students can reach: a world-traversable parent, root 0o1777 (nbgrader's layout)."""
    parent = Path(tempfile.mkdtemp(prefix="bp-exchange-"))
    parent.chmod(0o755)
    root = parent / "exchange"
    root.mkdir()
    root.chmod(0o1777)
    try:
        yield root
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _course(tmp_path: Path, exchange: Path, due: dt.datetime, extension: dt.datetime) -> Path:
    layout = make_course_copy(tmp_path / "course", [LESSON])
    (layout.root / "schedule.toml").write_text(
        '[late]\npolicy = "percent-per-day"\npercent_per_day = 10\ngrace_minutes = 0\n\n'
        f'[due]\n"{LESSON}" = {due.isoformat(timespec="seconds")}\n\n'
        f'[extensions.bp-s2]\n"{LESSON}" = {extension.isoformat(timespec="seconds")}\n',
        encoding="utf-8",
    )
    return layout.root


def _course_cli(course: Path, exchange: Path | None, *args: str) -> str:
    """The instructor's `course` command, in its own process as in a shell (Playwright's loop runs in this one)."""
    extra = ["--exchange", str(exchange)] if exchange else []
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "-m", "course.grading.cli", "--root", str(course), *args, *extra],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    print(result.stdout)
    assert result.returncode == 0, f"course {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def _work(home: Path, course: Path, wrong_quiz: bool) -> None:
    """What a student does in JupyterLab: solve the exercise in the fetched notebook and answer the quiz."""
    from course.grading.layout import CourseLayout

    layout = CourseLayout.load(course)
    folder = home / LESSON
    for notebook in folder.glob("*.ipynb"):
        solved = solved_notebook(notebook, layout.source_notebook(LESSON, notebook.stem))
        notebook.write_text(json.dumps(solved, indent=1), encoding="utf-8")
    answers = answer_key(layout, LESSON)
    if wrong_quiz:
        first = sorted(answers)[0]
        answers = {**answers, first: ["__wrong__"]}
    (folder / "answers.json").write_text(json.dumps({"format": 1, "answers": answers}), encoding="utf-8")
    subprocess.run(["chown", "-R", f"{home.name}:{home.name}", str(folder)], check=True)


def _backdate(user: str, submit_log: str, when: dt.datetime) -> None:
    """What a student can do to their own submission in the exchange: rename its folder after an earlier time and
    write that time in its timestamp.txt (nbgrader's own record of when it was made)."""
    folder = Path(next(line for line in submit_log.splitlines() if "Destination:" in line).split("Destination: ")[1])
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    parts = folder.name.split("+")
    earlier = folder.with_name("+".join([parts[0], parts[1], stamp, *parts[3:]]))
    script = f'mv "{folder}" "{earlier}" && printf "%s" "{stamp}" > "{earlier}/timestamp.txt"'
    done = subprocess.run([RUNUSER, "-u", user, "--", "bash", "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_release_fetch_submit_collect_grade_return(users, exchange, student_python, tmp_path):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    course = _course(tmp_path, exchange, due=now - dt.timedelta(days=1, hours=1), extension=now + dt.timedelta(days=2))
    started = time.monotonic()
    _course_cli(course, exchange, "release", "--lesson", LESSON, "--to-exchange")
    outbound = exchange / COURSE_ID / "outbound" / LESSON
    assert (outbound / f"{LESSON}.ipynb").is_file()

    ex = f"--Exchange.root={exchange}"
    first, second = users
    for user in users:
        home = Path(f"/home/{user}")
        _as(user, "fetch_assignment", LESSON, f"--course={COURSE_ID}", ex, cwd=home, python=student_python)
        assert (home / LESSON / f"{LESSON}.ipynb").is_file()
        # student 2 first submits a wrong quiz answer, then (after a first collect) resubmits it right
        _work(home, course, wrong_quiz=user == second)
        submitted = _as(user, "submit", LESSON, f"--course={COURSE_ID}", ex, cwd=home, python=student_python)
        if user == first:  # late, student 1 backdates the submission they own: its name and its timestamp.txt
            _backdate(user, submitted.stderr, now - dt.timedelta(days=1, hours=2))

    # the reference solutions are the grader's: the course imports for a student, its references do not
    probe = subprocess.run(
        [RUNUSER, "-u", first, "--", str(student_python), "-I", "-c", LEAN_ON_THE_REFERENCE],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 1 and "NotImplementedError" in probe.stderr, probe.stderr
    assert "reference solutions are not available here" in probe.stderr, probe.stderr

    # students cannot list the inbound folder, so cannot see (or copy) each other's submissions
    inbound = exchange / COURSE_ID / "inbound"
    listing = subprocess.run([RUNUSER, "-u", first, "--", "ls", str(inbound)], capture_output=True, text=True)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    assert inbound.stat().st_mode & 0o7777 == 0o3733  # nbgrader's write-only inbound, plus the sticky bit
    assert (exchange / COURSE_ID / "outbound").stat().st_mode & 0o777 == 0o755

    collected = _course_cli(course, exchange, "collect", "--lesson", LESSON)
    assert f"{first} {LESSON}: the submission says" in collected  # the backdating is seen, and undone
    first_answers = (course / "submitted" / second / LESSON / "answers.json").read_text()
    time.sleep(1.1)  # nbgrader's timestamps: a later second
    home = Path(f"/home/{second}")
    _work(home, course, wrong_quiz=False)
    _as(second, "submit", LESSON, f"--course={COURSE_ID}", ex, cwd=home, python=student_python)
    _course_cli(course, exchange, "collect", "--lesson", LESSON)
    assert (course / "submitted" / second / LESSON / "answers.json").read_text() != first_answers  # the latest wins
    for user in users:
        assert (course / "submitted" / user / LESSON / "timestamp.txt").is_file()
    _course_cli(course, None, "grade", "--lesson", LESSON)
    _course_cli(course, exchange, "return", "--lesson", LESSON)

    html = {}
    for user in users:
        home = Path(f"/home/{user}")
        _as(user, "fetch_feedback", LESSON, f"--course={COURSE_ID}", ex, cwd=home, python=student_python)
        feedback = sorted((home / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        assert len(feedback) == 1, f"{user}: {feedback}"  # feedback on the graded (latest) submission only
        html[user] = feedback[0].read_text(encoding="utf-8")
    elapsed = time.monotonic() - started
    print(f"release -> feedback fetched by both students: {elapsed:.1f}s")

    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open(encoding="utf-8"))}
    # lesson 00: 3 points; student 1 is 2 started days late at 10% per day; student 2 is within the extension
    assert (rows[first]["raw_score"], rows[first]["late_submission_penalty"], rows[first]["score"]) == (
        "3.0",
        "0.6",
        "2.4",
    )
    assert rows[first]["late_days"] == "2"
    assert (rows[second]["raw_score"], rows[second]["late_submission_penalty"], rows[second]["score"]) == (
        "3.0",
        "0.0",
        "3.0",
    )
    assert rows[second]["late_days"] == "0"
    assert "2 days after the due date" in html[first] and "2.4" in html[first]
    assert "on time" in html[second] and "extension: yes" in html[second]


# --- the same loop through a real JupyterHub (deploy/jupyterhub/), as the Assignments panel drives it ---

HUB_CONFIG = REPO / "deploy" / "jupyterhub" / "jupyterhub_config.py"
GRADER = "bp-grader"
HUB_NEEDS = "the JupyterHub test needs root, useradd/runuser, configurable-http-proxy (npm) and chromium"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Session:
    """One user's browser session with the hub: logged in, their server started; the nbgrader and Jupyter REST
    calls the Assignments panel makes."""

    def __init__(self, hub: str, user: str, password: str):
        import requests

        self.hub, self.user, self.http = hub, user, requests.Session()
        self.http.get(f"{hub}/hub/login", timeout=30)
        form = {"username": user, "password": password, "_xsrf": self.http.cookies.get("_xsrf", "")}
        login = self.http.post(f"{hub}/hub/login?next=", data=form, timeout=60)
        assert login.status_code == 200 and "/hub/login" not in login.url, f"{user} could not log in: {login.url}"
        self.base = f"{hub}/user/{user}"
        self.http.get(f"{hub}/hub/spawn", timeout=180)
        deadline = time.monotonic() + 180
        while True:
            lab = self.http.get(f"{self.base}/lab", timeout=30)
            if lab.status_code == 200 and "jupyter-config-data" in lab.text:
                break
            assert time.monotonic() < deadline, f"{user}'s server did not start: {lab.status_code}"
            time.sleep(1)
        self.lab_html = lab.text
        self.xsrf = self.http.cookies.get("_xsrf", path=f"/user/{user}/") or self.http.cookies.get("_xsrf")

    def page_config(self) -> dict:
        start = self.lab_html.index('id="jupyter-config-data"')
        start = self.lab_html.index(">", start) + 1
        return json.loads(self.lab_html[start : self.lab_html.index("</script>", start)])

    def get(self, path: str, **params):
        return self.http.get(f"{self.base}/{path}", params=params, timeout=60)

    def post(self, path: str, **data):
        return self.http.post(f"{self.base}/{path}", data=data, headers={"X-XSRFToken": self.xsrf}, timeout=120)

    def put_file(self, path: str, content, kind: str) -> None:
        body = {"type": kind, "format": "json" if kind == "notebook" else "text", "content": content}
        reply = self.http.put(
            f"{self.base}/api/contents/{path}", json=body, headers={"X-XSRFToken": self.xsrf}, timeout=60
        )
        assert reply.status_code in (200, 201), reply.text

    def action(self, name: str, lesson: str) -> dict:
        reply = self.post(f"assignments/{name}", course_id=COURSE_ID, assignment_id=lesson)
        assert reply.status_code == 200, f"{self.user} {name}: {reply.status_code} {reply.text[:300]}"
        result = reply.json()
        assert result.get("success"), f"{self.user} {name}: {result}"
        return result

    def assignments(self) -> list[dict]:
        reply = self.get("assignments", course_id=COURSE_ID)
        assert reply.status_code == 200, reply.text
        return reply.json()["value"]


SHOTS = REPO / "test-artifacts" / "hub"


try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the hub test then skips or fails on its own check
    PlaywrightTimeout = TimeoutError


class StudentBrowser:
    """A student in headless Chromium: logs in on the hub's page, and works in JupyterLab's Assignments panel."""

    def __init__(self, browser, hub: str, user: str, password: str):
        self.user, self.hub = user, hub
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(f"{hub}/hub/login")
        self.page.fill("#username_input", user)
        self.page.fill("#password_input", password)
        self.page.click("#login_submit")
        self.page.wait_for_url(f"**/user/{user}/lab**", timeout=180_000)
        self.page.wait_for_selector(".lm-MenuBar-item", timeout=180_000)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.user}-{name}.png"))

    def assignments(self):
        """The Assignments panel, opened from the Nbgrader menu as a student does."""
        page = self.page
        if not page.locator("#released_assignments_list").is_visible():  # not open, or behind the lesson
            page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
            page.locator(".lm-Menu-item", has_text="Assignment List").click()
        page.wait_for_selector("#released_assignments_list")
        return page

    def menu_items(self) -> list[str]:
        page = self.page
        page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
        items = page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
        page.keyboard.press("Escape")
        return [i.strip() for i in items if i.strip()]

    def click_in(self, list_id: str, button: str) -> None:
        self.assignments().locator(f"#{list_id} button", has_text=button).first.click()

    def open_lesson(self, lesson: str):
        """Open the fetched lesson from the file browser's path, once its kernel has started and is idle."""
        page = self.page
        page.goto(f"{self.hub}/user/{self.user}/lab/tree/{lesson}/{lesson}.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        self.wait_idle()
        return page

    def wait_idle(self) -> None:
        """The kernel is connected and idle: the status bar says so (before it starts it says Connecting or
        Starting, and the toolbar's indicator already shows idle)."""
        self.page.locator(".jp-StatusBar-Item", has_text="| Idle").first.wait_for()
        self.page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")

    def cell(self, text: str):
        """The code cell whose text contains ``text``."""
        return self.page.locator(".jp-Notebook .jp-CodeCell", has_text=text).first

    def run(self, text: str):
        """Click into the cell and press Shift+Enter, as a student runs it; wait until it has run (pressed again
        if the kernel took the first press while still settling)."""
        cell = self.cell(text)
        prompt = cell.locator(".jp-InputArea-prompt")
        before = prompt.inner_text()
        for attempt in range(3):
            cell.locator(".cm-content").click()
            self.page.keyboard.press("Shift+Enter")
            try:
                self.page.wait_for_function(
                    "([prompt, before]) => prompt.textContent !== before && /\\[[\\d*]+\\]/.test(prompt.textContent)",
                    arg=[prompt.element_handle(), before],
                    timeout=15_000,
                )
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        self.page.wait_for_function("(prompt) => /\\[\\d+\\]/.test(prompt.textContent)", arg=prompt.element_handle())
        self.wait_idle()
        return cell

    def type_into(self, text: str, code: str) -> None:
        """Replace the cell's code by typing ``code`` into its editor (select all, then the keystrokes' text)."""
        editor = self.cell(text).locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.insert_text(code)
        typed = editor.inner_text().replace("\u00a0", " ")
        assert typed.strip() == code.strip(), f"{self.user}: the editor holds {typed!r}"

    def choose(self, quiz_cell, option_texts: list[str]) -> None:
        """Click the options of a quiz widget whose labels are ``option_texts``; wait for "Answer recorded"."""
        quiz_cell.locator(".course-quiz").wait_for()
        for text in option_texts:
            quiz_cell.locator(".widget-radio-box label, .widget-checkbox", has_text=text).first.click()
        quiz_cell.get_by_text("Answer recorded").wait_for(timeout=30_000)

    def save(self) -> None:
        self.page.keyboard.press("Control+S")
        self.page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')")

    def close(self) -> None:
        self.context.close()


@pytest.mark.browser
def test_the_loop_through_jupyterhub(exchange, student_python, tmp_path):
    if not (os.geteuid() == 0 and shutil.which("useradd") and shutil.which("configurable-http-proxy") and CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(HUB_NEEDS)
        pytest.skip(HUB_NEEDS)

    everyone = (GRADER, *STUDENTS)
    created: list[str] = []
    hub = chromium = playwright = None
    students: dict[str, StudentBrowser] = {}
    shared = Path(tempfile.mkdtemp(prefix="bp-hub-"))
    shared.chmod(0o755)
    try:
        for user in everyone:
            subprocess.run(["userdel", "-r", user], capture_output=True)
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
            created.append(user)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        course = _course(
            shared, exchange, due=now - dt.timedelta(days=1, hours=1), extension=now + dt.timedelta(days=2)
        )
        started = time.monotonic()
        _course_cli(course, exchange, "release", "--lesson", LESSON, "--to-exchange")
        subprocess.run(["chown", "-R", f"{GRADER}:{GRADER}", str(course)], check=True)
        course.chmod(0o700)  # only the grader reads the course folder (source/, answer keys, gradebook)

        port, password = free_port(), "bp-test-only"
        state = shared / "hub-state"
        env = dict(
            os.environ,
            BP_HUB_PORT=str(port),
            BP_HUB_STATE=str(state),
            BP_HUB_DUMMY_PASSWORD=password,
            BP_GRADER=GRADER,
            BP_STUDENTS=",".join(STUDENTS),
            BP_COURSE_VENV=str(student_python.parent.parent),
            BP_COURSE_DIR=str(course),
            NBGRADER_EXCHANGE=str(exchange),
            PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        )
        log_path = tmp_path / "jupyterhub.log"
        with log_path.open("w") as log:
            hub = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)],
                cwd=shared,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        import requests

        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/hub/api/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert hub.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)

        from course.grading.layout import CourseLayout

        layout = CourseLayout.load(course)
        sessions = {user: Session(url, user, password) for user in STUDENTS}
        for user, session in sessions.items():
            disabled = session.page_config().get("disabledExtensions", [])
            for plugin in ("formgrader", "create-assignment", "course-list"):
                assert f"@jupyter/nbgrader:{plugin}" in disabled, f"{user}'s JupyterLab shows {plugin}"
            assert "@jupyter/nbgrader:assignment-list" not in disabled
            assert session.get("formgrader").status_code == 404  # the server extension is off too
            listed = {a["assignment_id"]: a["status"] for a in session.assignments()}
            assert listed.get(LESSON) == "released", listed
        from playwright.sync_api import sync_playwright

        config = load_config("mistral-7b")
        weights = config["hidden_size"] * config["intermediate_size"]  # lesson 00's layer, without bias
        questions = load_questions(LESSON, "en")
        right = {
            q: [o.text for o in questions[q].options if o.id in ids] for q, ids in answer_key(layout, LESSON).items()
        }
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        students = {user: StudentBrowser(chromium, url, user, password) for user in STUDENTS}
        for student in students.values():
            menu = student.menu_items()
            assert "Assignment List" in menu and not {"Formgrader", "Course List"} & set(menu), menu
            page = student.assignments()
            page.locator("#released_assignments_list", has_text=LESSON).wait_for()
            student.shot("1-assignments-released")
            student.click_in("released_assignments_list", "Fetch")
            page.locator("#fetched_assignments_list", has_text=LESSON).wait_for()
            page = student.open_lesson(LESSON)
            # before the exercise is written, the lesson cannot lean on the reference solution: it is the grader's
            student.run("from course.quiz import ask")
            student.run("def linear_parameters")
            uses = student.run("yours_or_reference(linear_parameters")
            uses.locator(".jp-OutputArea-output", has_text="not available here").wait_for()
            student.shot("2-reference-is-the-graders")
            student.type_into("def linear_parameters", SOLUTION)
            student.run("def linear_parameters")
            checks = student.run("assert linear_parameters(3, 2) == 8")
            assert not checks.locator("[data-mime-type='application/vnd.jupyter.error']").count(), checks.inner_text()
            printed = student.run("yours_or_reference(linear_parameters").locator(".jp-OutputArea").inner_text()
            assert printed.count(f"{weights:,}") == 2, printed  # their function's count and PyTorch's agree
            for question, options in right.items():
                student.choose(student.run(f'ask("{LESSON}", "{question}")'), options)
            student.save()
            student.shot("3-lesson-worked")
            page = student.assignments()
            student.click_in("fetched_assignments_list", "Submit")
            page = student.assignments()
            page.locator("#submitted_assignments_list .list_item", has_text=LESSON).first.wait_for()
            student.shot("4-submitted")
        grader = Session(url, GRADER, password)
        disabled = grader.page_config().get("disabledExtensions", [])
        assert not [p for p in disabled if p.startswith("@jupyter/nbgrader")], disabled
        assert grader.get("formgrader").status_code == 200

        _course_cli(course, exchange, "collect", "--lesson", LESSON)
        _course_cli(course, None, "grade", "--lesson", LESSON)
        _course_cli(course, exchange, "return", "--lesson", LESSON)
        feedback = {}
        for user, student in students.items():
            page = student.assignments()
            page.reload()
            page.wait_for_selector(".lm-MenuBar-item")
            page = student.assignments()
            page.locator("#submitted_assignments_list button", has_text="Fetch Feedback").first.click()
            page.locator("text=(view feedback)").first.wait_for()
            student.shot("5-feedback-fetched")
            listed = [a for a in sessions[user].assignments() if a["assignment_id"] == LESSON]
            submissions = [s for a in listed for s in a.get("submissions", []) if s.get("has_local_feedback")]
            assert len(submissions) == 1, json.dumps(listed, indent=1)[:3000]
            path = f"{LESSON}/feedback/{submissions[0]['timestamp']}/{LESSON}.html"
            page.goto(f"{url}/user/{user}/files/{path}")  # JupyterLab's "Open in New Browser Tab"
            feedback[user] = page.locator("body").inner_text()
            student.shot("6-feedback")
        assert (exchange / COURSE_ID / "feedback").stat().st_mode & 0o777 == 0o711
        print(f"hub: release -> feedback visible to both students: {time.monotonic() - started:.1f}s")
        rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open(encoding="utf-8"))}
        first, second = STUDENTS
        assert (rows[first]["score"], rows[first]["late_days"]) == ("2.4", "2")
        assert (rows[second]["score"], rows[second]["late_days"]) == ("3.0", "0")
        assert "2 days after the due date" in feedback[first] and "2.4" in feedback[first]
        assert "on time" in feedback[second]
    except BaseException:
        for user, student in students.items():  # where each student's page stood when the test failed
            student.shot("failure")
            print(user, student.page.url, sorted(p.name for p in Path(f"/home/{user}").iterdir()))
        raise
    finally:
        for student in students.values():
            student.close()
        if chromium is not None:
            chromium.close()
        if playwright is not None:
            playwright.stop()
        if hub is not None:
            stop_group(hub, grace_s=30)
        for user in created:
            subprocess.run(["pkill", "-u", user], capture_output=True)  # only the test's own users' servers
            subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(shared, ignore_errors=True)


LOAD_LESSON_05_06_MODELS = """
from course.lessons.finetune.task_model import exact_match, load_base_model, load_task_model, task_examples
base, tokenizer = load_base_model()      # lesson 05
task, _ = load_task_model()              # lessons 05, 06 and 07
print("task exact match", exact_match(task, tokenizer, task_examples("test")[:4]))
"""


def test_a_student_on_the_hub_reads_lessons_05_and_06_models_from_the_prepared_cache(users, student_python, tmp_path):
    """start.sh prepares the shared cache (`course prepare`, as root, where the references are readable) and the
    hub gives it to every student's server as COURSE_CACHE_DIR, read-only. A student, whose references are hidden,
    loads lesson 05's and 06's models from it; with a cache that lacks them, the lesson says in one sentence to
    ask the instructor for `course prepare`."""
    from course.cache import find
    from course.lessons.finetune.task_model import BASE_NAME, TASK_NAME

    shared = Path(tempfile.mkdtemp(prefix="bp-cache-"))
    try:
        shared.chmod(0o755)
        prepared = shared / "prepared"
        for name in (BASE_NAME, TASK_NAME):  # what the suite's prepare lane built: `course prepare` keeps it
            if built := find(name):
                shutil.copytree(built, prepared / name)
        prepare = subprocess.run(
            [sys.executable, "-m", "course.grading.cli", "prepare", "--lesson", "05-fine-tuning-and-peft"]
            + ["--cache", str(prepared)],
            capture_output=True,
            text=True,
        )
        assert prepare.returncode == 0, prepare.stdout + prepare.stderr
        assert {BASE_NAME, TASK_NAME} <= {p.name for p in prepared.iterdir()}, prepare.stdout
        subprocess.run(["chmod", "-R", "a+rX,go-w", str(prepared)], check=True)
        (shared / "empty").mkdir(mode=0o755)
        student = users[0]

        def as_student(cache: Path) -> subprocess.CompletedProcess:
            env = {"HOME": f"/home/{student}", "PATH": "/usr/bin:/bin", "COURSE_CACHE_DIR": str(cache)}
            return subprocess.run(
                [RUNUSER, "-u", student, "--", str(student_python), "-c", LOAD_LESSON_05_06_MODELS],
                cwd="/",
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )

        read = as_student(prepared)
        assert read.returncode == 0 and "task exact match" in read.stdout, read.stdout + read.stderr[-3000:]
        assert not (Path(f"/home/{student}") / ".cache" / "beyond-prompting" / BASE_NAME).exists(), "nothing rebuilt"

        refused = as_student(shared / "empty")
        assert refused.returncode != 0
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("course.fallback.NotPrepared:") and "ask your instructor to run `course prepare`" in last
        assert not (Path(f"/home/{student}") / ".cache" / "beyond-prompting" / BASE_NAME).exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
