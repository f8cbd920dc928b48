"""A class of hostile and broken submissions to lesson 00, each with the score it honestly earns.

Every entry is one student: a known way to fool an autograder (most from nbgrader's issue tracker and from
public "how to cheat the autograder" notes) or a broken submission, built from the release like a real one.
``expected`` is the honest score of the same answers: what the submission earns if the attack does nothing.
The test suite (tests/e2e/test_grading_hostile.py) grades the whole class in one ``course grade`` run and
checks each score exactly; ``benchmarks/hostile.py`` grades it with stock ``nbgrader autograde`` as well, to
show which attacks work there. This lives with the tests, not in the ``course`` package, so it never reaches
a grading sandbox (which shows the kernel only the ``course`` package).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course.grading.layout import CourseLayout
from course.grading.release import release
from course.grading.samples import copy_course

from . import payloads as p
from . import submissions as s
from .submissions import KEY, LESSON, QUESTION, QUIZ, TEST, submit

POINTS = {TEST: 2.0, QUIZ: 1.0}
FULL = sum(POINTS.values())


@dataclass(frozen=True)
class Attack:
    student: str
    what: str  # the attack, in one line
    defence: str  # what stops it in `course grade`
    expected: float  # the honest score of the same answers
    build: Callable[[CourseLayout, str], None]  # (course, student) -> writes the student's submission
    runs: bool = True  # whether grading executes the notebook
    unsandboxed_harm: bool = False  # run without the sandbox's limits it harms the grading machine itself


# What stops each kind of attack in `course grade`.
CHECK = (
    "the exercise is checked outside the student's process: the kernel only runs the student's function on "
    "inputs drawn for this grading run and hands back plain data, which the grader compares with results it "
    "computed itself; no test code, expected value or verdict is in the kernel"
)
PLAIN = (
    "only plain data crosses the kernel boundary: an object of the student's own class arrives as unsupported "
    "and equals nothing; a subclass of int is read for the int it holds"
)
REBUILD = (
    "the notebook is rebuilt around the lesson's cells as recorded in the gradebook (source, points, "
    "lock, type, order); the student's cell metadata and tags are dropped; a duplicate counts once"
)
BLANK = "graded as blank without running, with the reason in the feedback; quizzes still count"
LINKS = "links are refused: files are opened without following links, a linked folder is not graded"
DECODE = (
    PLAIN + "; the grader reads what the kernel hands back as untrusted data: whatever it cannot read or "
    "compare is a wrong answer for that check, never an error that stops grading the submission"
)
RESULTS = (
    "the grader creates the results file before the kernel starts and reads it through its own descriptor, "
    "so nothing done to its path matters"
)


def attacks(layout: CourseLayout, port: int) -> list[Attack]:
    """The hostile class; ``port`` is a TCP port on 127.0.0.1 that a student tries to reach."""
    test, quiz = POINTS[TEST], POINTS[QUIZ]

    def sub(**kwargs):
        return lambda course, student: submit(course, student, **kwargs)

    signature = "def linear_parameters(in_features, out_features, bias=True):\n"
    always_equal = f"{p.ANYTHING}\n{signature}    return Anything()\n"
    int_subclass = (
        "class Sneaky(int):\n    def __eq__(self, other):\n        return True\n"
        f"    __hash__ = int.__hash__\n\n{signature}    return Sneaky(0)\n"
    )
    fakes = {"course/__init__.py": "", "course/quiz.py": p.FAKE_QUIZ, "torch.py": p.FAKE_TORCH}
    writes = [
        layout.submission_dir("honest-full", LESSON) / "answers.json",
        layout.source_notebook(LESSON),
        layout.gradebook,
        layout.release_notebook(LESSON),
    ]
    reads = [layout.source_notebook(LESSON), layout.gradebook, layout.answer_key_file(LESSON)]
    escape = p.ESCAPE.format(writes=[str(w) for w in writes], reads=[str(r) for r in reads], port=port)
    return [
        Attack(*row)
        for row in [
            ("honest-full", "reference: everything right", "-", FULL, sub(right_quiz=True)),
            ("honest-blank", "reference: nothing answered", "-", 0, sub(blank=True)),
            (
                "honest-quiz-only",
                "reference: quiz right, exercise wrong",
                "-",
                quiz,
                sub(solution=p.WRONG, right_quiz=True),
            ),
            (
                "hide-errors",
                "error display disabled: InteractiveShell.showtraceback replaced (nbgrader "
                "#1324), get_ipython().set_custom_exc swallowing everything, sys.excepthook replaced",
                CHECK + "; errors and their display do not decide anything",
                0,
                sub(solution=p.WRONG, early=p.HIDE_ERRORS),
            ),
            (
                "rewrite-tests",
                "an IPython AST transformer wraps every statement in try/except; "
                "builtins.compile patched to optimize=2, which strips asserts",
                CHECK + "; the check's call, even wrapped in try/except, returns the student's own results",
                0,
                sub(solution=p.WRONG, early=p.FORGIVE + "\n" + p.STRIP_ASSERTS),
            ),
            (
                "skip-test-cells",
                "shell.run_cell patched to pretend that cells with asserts ran",
                CHECK + "; a check that does not run hands back nothing and scores 0",
                0,
                sub(solution=p.WRONG, early=p.SKIP_TEST_CELLS),
            ),
            (
                "trace-skip",
                "the solution sets a trace function on the test's frame that jumps over asserts",
                CHECK + "; there are no asserts in the kernel to jump over",
                0,
                sub(solution=p.TRACER),
            ),
            (
                "always-equal",
                "the solution returns an object whose __eq__ is always True",
                PLAIN,
                0,
                sub(solution=always_equal),
            ),
            (
                "int-subclass",
                "the solution returns an int subclass whose __eq__ is always True",
                PLAIN,
                0,
                sub(solution=int_subclass),
            ),
            (
                "patch-library",
                "builtins.sum patched and shadowed by a global sum so the hidden test's "
                "reference agrees with a wrong answer; course.quiz.recorded_answer patched to agree with any key",
                CHECK + "; quizzes are scored outside the kernel, from answers.json and the key in the gradebook",
                0,
                sub(solution=p.WRONG_BUT_VISIBLE, answers={}, early=p.PATCH_LIBRARY),
            ),
            (
                "shadow-modules",
                "ships course/quiz.py and torch.py beside the notebook to shadow the real ones",
                "only the notebook and answers.json reach the run folder; the kernel runs with Python's safe "
                "path (-P); quizzes are scored outside the kernel",
                0,
                sub(solution=p.WRONG_BUT_VISIBLE, files=fakes),
            ),
            (
                "tamper-test-cell",
                "test cell unlocked, emptied and given 100 points",
                REBUILD,
                0,
                sub(solution=p.WRONG, edit=s.edit_test),
            ),
            (
                "retype-test-cell",
                "test cell turned into markdown",
                REBUILD,
                0,
                sub(solution=p.WRONG, edit=s.retype_test),
            ),
            ("delete-test-cell", "test cell deleted", REBUILD, 0, sub(solution=p.WRONG, edit=s.delete_test)),
            (
                "duplicate-test-cell",
                "test cell duplicated before and after, the copies emptied",
                REBUILD,
                0,
                sub(solution=p.WRONG, edit=s.duplicate_test),
            ),
            (
                "skip-execution-tag",
                "test cell tagged skip-execution, which nbclient honours",
                REBUILD,
                0,
                sub(solution=p.WRONG, edit=s.skip_tag),
            ),
            (
                "claim-and-reorder",
                "solution cell marked as a graded cell worth 10, test cell worth 100, test "
                "moved above the solution, quiz grade cell to the top (all right)",
                REBUILD,
                FULL,
                sub(right_quiz=True, edit=s.claim_and_reorder),
            ),
            (
                "quiz-all-options",
                "every option of the graded question selected (exercise right)",
                "the recorded choice must equal the key exactly",
                test,
                sub(answers={QUESTION: ["a", "b", "c", "d"]}),
            ),
            ("answers-link", "answers.json is a link to another student's answers", LINKS, 0, s.answers_link),
            (
                "reach-reference",
                "the solution imports the course's reference solution (course.references) (quiz right)",
                "the sandbox does not mount course.references and the kernel refuses to import it: the check "
                "sees ModuleNotFoundError and the feedback says a reference is not available while grading",
                quiz,
                sub(solution=p.REACH_REFERENCE, right_quiz=True),
            ),
            (
                "patch-torch",
                "torch.nn.Module.parameters and torch.Tensor.numel patched so that a count inside the kernel "
                "agrees with 0",
                CHECK + "; the grader counts with its own, unpatched PyTorch",
                0,
                sub(solution=p.WRONG, early=p.PATCH_TORCH),
            ),
            (
                "frame-rewrite",
                "the solution rewrites its callers' globals (every number to 0, torch to a fake) so that a "
                "test's expected value agrees with 0",
                CHECK + "; the expected values live in the grader's process, out of the kernel's frames",
                0,
                sub(solution=p.FRAME_REWRITE),
            ),
            (
                "hard-coded",
                "the solution returns the right answer for the visible inputs and every input published in "
                "the repository, and 0 otherwise",
                "inputs are drawn for each grading run from a secret seed; the published edge cases are only "
                "part of them",
                0,
                sub(solution=p.HARDCODED),
            ),
            (
                "forge-results",
                "the solution finds the probe's nonce in its caller's frame and the results file in "
                "/proc/self/fd, and appends forged results after the probe's own",
                "a result line is data, not a verdict: forged results are compared like real ones, and only "
                "right values score",
                0,
                sub(solution=p.FORGE_RESULTS),
            ),
            (
                "float8-tensor",
                "the solution returns a float8 tensor (torch.float8_e4m3fn, which numpy does not know) (quiz right)",
                DECODE,
                quiz,
                sub(solution=p.FLOAT8, right_quiz=True),
            ),
            (
                "enum-key",
                "the solution returns a dict keyed by an Enum of its own (quiz right)",
                DECODE,
                quiz,
                sub(solution=p.ENUM_KEY, right_quiz=True),
            ),
            (
                "probe-closure",
                "a cell finds the probe in globals() and replaces the encoder in its closure, so every check "
                "hands back malformed data: float8 arrays, unhashable keys, wrong shapes, unknown tags (quiz right)",
                DECODE + "; the quiz is scored outside the kernel",
                quiz,
                sub(solution=p.WRONG, right_quiz=True, early=p.PROBE_CLOSURE),
            ),
            *[
                (
                    f"results-{kind}",
                    f"a cell replaces the probe's results file (../ipc/results...) with {what} (all right)",
                    RESULTS,
                    FULL,
                    sub(right_quiz=True, early=p.REPLACE_RESULTS.format(how=how)),
                )
                for kind, what, how in [
                    ("folder", "a folder", "os.mkdir(path)"),
                    ("fifo", "a named pipe", "os.mkfifo(path)"),
                    ("link", "a link to /etc/passwd", 'os.symlink("/etc/passwd", path)'),
                ]
            ],
            (
                "honest-numpy",
                "honest: returns numpy integers (all right)",
                "values are compared as numbers, whatever their type",
                FULL,
                sub(solution=p.NUMPY_INT, right_quiz=True),
            ),
            (
                "honest-torch",
                "honest: another correct algorithm (counts a PyTorch layer on the meta device) (all right)",
                "-",
                FULL,
                sub(solution=p.TORCH_COUNT, right_quiz=True),
            ),
            (
                "honest-chatty",
                "honest: helper functions in an extra cell, printing on every call (all right)",
                "the student's own cells run where they were; output is kept (and capped)",
                FULL,
                sub(solution=p.CHATTY, right_quiz=True, edit=s.helper_cell),
            ),
            (
                "honest-old-nbformat",
                "honest: saved as nbformat 4.4, cells without ids (all right)",
                "-",
                FULL,
                sub(right_quiz=True, edit=s.old_nbformat),
            ),
            (
                "answers-deep",
                "answers.json is valid JSON nested 100,000 levels deep (exercise right)",
                "a damaged answers file: quizzes score 0 with the reason, the exercise is graded",
                test,
                s.raw_answers('{"format": 1, "answers": ' + "[" * 100_000 + "]" * 100_000 + "}"),
            ),
            (
                "answers-duplicate",
                "answers.json names the graded question twice, right then wrong (exercise right)",
                "a damaged answers file: quizzes score 0 with the reason, the exercise is graded",
                test,
                s.raw_answers(f'{{"format": 1, "answers": {{"{QUESTION}": ["{KEY[0]}"], "{QUESTION}": ["a"]}}}}'),
            ),
            (
                "answers-wrong-types",
                "answers.json holds numbers where option ids belong (exercise right)",
                "a damaged answers file: quizzes score 0 with the reason, the exercise is graded",
                test,
                s.raw_answers(f'{{"format": 1, "answers": {{"{QUESTION}": [2]}}}}'),
            ),
            (
                "answers-huge-string",
                "answers.json holds a 900 kB option id (exercise right)",
                "the recorded choice must equal the key exactly",
                test,
                s.raw_answers(f'{{"format": 1, "answers": {{"{QUESTION}": ["' + "c" * 900_000 + '"]}}'),
            ),
            (
                "folder-link",
                "the whole submission folder is a link to another student's",
                LINKS,
                0,
                s.folder_link,
                False,
            ),
            (
                "other-lesson",
                "a notebook whose cells belong to another lesson (quiz right)",
                BLANK,
                quiz,
                s.foreign,
                False,
            ),
            ("invalid-json", "the notebook is not valid JSON (quiz right)", BLANK, quiz, s.invalid_json, False),
            ("missing-notebook", "no notebook at all (quiz right)", BLANK, quiz, s.missing_notebook, False),
            (
                "broken-answers",
                "answers.json is not valid JSON, timestamp.txt is garbage (exercise right)",
                "answers are read by the course's strict reader (0, with the reason); a bad timestamp is ignored",
                test,
                s.broken_answers,
            ),
            (
                "infinite-loop",
                "a cell loops forever before the graded cells (all right)",
                "a time limit per cell interrupts it and the notebook goes on; a kernel that ignores the "
                "interrupt is stopped; a time limit per notebook",
                FULL,
                sub(right_quiz=True, early="while True:\n    pass"),
            ),
            (
                "kernel-exit",
                "a cell kills the kernel with os._exit before the graded cells (quiz right)",
                "a dead kernel ends that notebook's run: cells not run score 0, with the reason; the other "
                "submissions are graded",
                quiz,
                sub(right_quiz=True, early="import os\nos._exit(0)"),
            ),
            (
                "huge-output",
                "a cell prints 50 MB (all right)",
                "outputs are capped per cell and per notebook",
                FULL,
                sub(right_quiz=True, early="for _ in range(50_000):\n    print('x' * 1000)"),
            ),
            (
                "fork-bomb",
                "a cell forks without end before the graded cells (all right)",
                "a process limit per sandbox (RLIMIT_NPROC in its user namespace, a pids cgroup as root); the "
                "cell's time limit; a cell's processes do not outlive it; the sandbox's PID namespace dies whole",
                FULL,
                sub(right_quiz=True, early=p.FORK_BOMB),
                True,
                True,
            ),
            (
                "memory-hog",
                "a cell allocates (and writes) memory without end before the graded cells (all right)",
                "an address-space limit per kernel process (MemoryError in that cell); first in line for the "
                "out-of-memory killer",
                FULL,
                sub(right_quiz=True, early=p.MEMORY_HOG),
                True,
                True,
            ),
            (
                "disk-filler",
                "a cell writes a file without end before the graded cells (all right)",
                "the run folder is a size-capped tmpfs of the sandbox ('No space left on device' for that kernel "
                "alone, gone with it); the one host folder it writes in has a quota too",
                FULL,
                sub(right_quiz=True, early=p.DISK_FILLER),
                True,
                True,
            ),
            (
                "escape",
                "writes into other students' folders, source/, release/ and the gradebook, reads the "
                "source notebook and sample answers, reaches a server on the grading machine (all right)",
                "bubblewrap sandbox: no network, the course folder is not even visible, only the run folder is "
                "writable; nothing a student can write is read back",
                FULL,
                sub(right_quiz=True, early=escape),
            ),
        ]
    ]


def listen() -> tuple[int, list[bytes]]:
    """A server on 127.0.0.1 that the escape student tries to reach: (its port, what reached it so far)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def serve() -> None:
        while True:
            connection, _ = listener.accept()
            received.append(connection.recv(200))
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], received


def build_class(root: Path, course: Path, port: int) -> list[Attack]:
    """A new course folder ``course`` with lesson 00 (from the repository at ``root``) released and the whole
    hostile class submitted; ``port`` is the server of :func:`listen`."""
    layout = copy_course(CourseLayout.load(root), course, [LESSON])
    release(course, [LESSON])
    table = attacks(layout, port)
    for attack in table:
        attack.build(layout, attack.student)
    return table
