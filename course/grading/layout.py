"""Where everything of a course lives, in one object (after nbgrader's ``CourseDirectory``).

The folder names come from the course's ``nbgrader_config.py`` (``c.CourseDirectory.source_directory`` and its
siblings), which nbgrader reads too, so ``course release`` / ``course grade`` and the nbgrader commands they
start agree when a name is changed there. Nothing else in the grading code spells a folder name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .nbgrader_runner import CourseError

CONFIG = "nbgrader_config.py"
# nbgrader's defaults, for a config that does not set them
DEFAULT_DIRECTORIES = {
    "source_directory": "source",
    "release_directory": "release",
    "submitted_directory": "submitted",
    "autograded_directory": "autograded",
    "feedback_directory": "feedback",
}
ANSWER_KEYS = ("samples", "answers")  # the graded quiz keys kept for tests and the demo, not nbgrader's
GRADEBOOK = "gradebook.db"


def _config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(CONFIG, path=str(root)).load_config().CourseDirectory


@dataclass(frozen=True)
class CourseLayout:
    """The paths of one course folder; build it with :meth:`load`."""

    root: Path
    course_id: str
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    answer_keys: Path

    @classmethod
    def load(cls, root: Path) -> CourseLayout:
        """The layout of the course folder ``root``, as its nbgrader_config.py names the folders."""
        root = Path(root).resolve()
        config = _config(root)
        names = {key: config.get(key, default) for key, default in DEFAULT_DIRECTORIES.items()}
        return cls(
            root=root,
            course_id=config.get("course_id", "default_course"),
            source=root / names["source_directory"],
            release=root / names["release_directory"],
            submitted=root / names["submitted_directory"],
            autograded=root / names["autograded_directory"],
            feedback=root / names["feedback_directory"],
            answer_keys=root.joinpath(*ANSWER_KEYS),
        )

    # files of the course folder
    @property
    def config_file(self) -> Path:
        return self.root / CONFIG

    @property
    def gradebook(self) -> Path:
        """The default SQLite gradebook (``course release`` creates it)."""
        return self.root / GRADEBOOK

    @property
    def default_db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    @property
    def grades_csv(self) -> Path:
        return self.root / "grades.csv"

    @property
    def grades_canvas_csv(self) -> Path:
        """The grades in Canvas's gradebook import layout (``gradesout.write_canvas``)."""
        return self.root / "grades-canvas.csv"

    @property
    def schedule_file(self) -> Path:
        """Due dates, late policy and extensions, edited by the instructor (optional; ``schedule.py``)."""
        return self.root / "schedule.toml"

    @property
    def roster_file(self) -> Path:
        """Students' names, sections and SIS ids for the Canvas export (optional; ``gradesout.load_roster``)."""
        return self.root / "roster.csv"

    @property
    def grading_seed_file(self) -> Path:
        """The seed the class was last graded with (``course grade`` reuses it; ``--new-seed`` draws another)."""
        return self.root / "grading-seed.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    # per lesson
    def lessons(self) -> list[str]:
        """Lesson ids, from the folders in the source folder (``00-orientation``, ...)."""
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and p.name[:2].isdigit())

    def check_lessons(self, wanted: list[str] | None) -> list[str]:
        """``wanted`` (default: every lesson); CourseError naming the known ones for an unknown lesson."""
        known = self.lessons()
        if not wanted:
            return known
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise CourseError(f"Unknown lesson {', '.join(unknown)}; known lessons: {', '.join(known)}.")
        return wanted

    def source_dir(self, lesson: str) -> Path:
        return self.source / lesson

    def source_notebook(self, lesson: str, name: str | None = None) -> Path:
        """The instructor notebook ``name`` (default: the one named after the lesson)."""
        return self.source / lesson / f"{name or lesson}.ipynb"

    def release_dir(self, lesson: str) -> Path:
        return self.release / lesson

    def release_notebook(self, lesson: str, name: str | None = None) -> Path:
        return self.release / lesson / f"{name or lesson}.ipynb"

    def translated_release_dir(self, lesson: str, lang: str) -> Path:
        """The student version in Korean or Japanese: ``release/<lang>/<lesson>/``, the same assignment (folder
        and notebook names, cell and grade ids) with its markdown translated, so a submission from it is
        graded exactly as one from ``release/<lesson>/``."""
        return self.release / lang / lesson

    def answer_key_file(self, lesson: str) -> Path:
        return self.answer_keys / f"{lesson}.json"

    # per student and lesson
    def submission_dir(self, student: str, lesson: str) -> Path:
        return self.submitted / student / lesson

    def autograded_dir(self, student: str, lesson: str) -> Path:
        return self.autograded / student / lesson

    def feedback_dir(self, student: str, lesson: str) -> Path:
        return self.feedback / student / lesson

    def submitted_lessons(self) -> dict[str, list[str]]:
        """``{lesson: [student ids]}`` found in ``<submitted>/<student>/<lesson>/``."""
        found: dict[str, list[str]] = {}
        if self.submitted.is_dir():
            for student in sorted(_folders(self.submitted)):
                for lesson in sorted(_folders(student)):
                    found.setdefault(lesson.name, []).append(student.name)
        return found

    def ensure_gradebook(self, db_url: str | None = None) -> None:
        """The default gradebook must exist (``course release`` creates it); another one is checked when used."""
        if db_url is None and not self.gradebook.exists():
            raise CourseError(
                f"No {self.gradebook.name} in the course folder: run `course release` first; it "
                "records each lesson's grade cells."
            )


def _folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]


def find_root(start: Path | None = None) -> Path:
    """The course folder: the nearest folder at or above ``start`` holding nbgrader_config.py and the source
    folder it names."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file() and CourseLayout.load(folder).source.is_dir():
            return folder
    raise CourseError(
        f"No course folder at or above {here}: run the command inside the course repository "
        f"(where {CONFIG} and {DEFAULT_DIRECTORIES['source_directory']}/ are) or pass --root."
    )
