"""The class report: scores per student and per question from the gradebook, and a chart."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path


def read_grades(grades_csv: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """``{(lesson, student): (score, max_score)}`` from ``grades.csv`` (nbgrader's CSV export, which ``course
    grade`` extends with ``late_days`` and ``due``). ``score`` is the final score, after any late penalty
    (``raw_score`` minus ``late_submission_penalty``); see :func:`read_late` for those."""
    with grades_csv.open(newline="", encoding="utf-8") as handle:
        return {
            (r["assignment"], r["student_id"]): (float(r["score"]), float(r["max_score"]))
            for r in csv.DictReader(handle)
        }


def read_late(grades_csv: Path) -> dict[tuple[str, str], tuple[float, float, int | None]]:
    """``{(lesson, student): (raw_score, late_submission_penalty, late_days)}`` from ``grades.csv``;
    ``late_days`` is None where nothing was due or the submission time is unknown."""
    with grades_csv.open(newline="", encoding="utf-8") as handle:
        return {
            (r["assignment"], r["student_id"]): (
                float(r["raw_score"]),
                float(r["late_submission_penalty"] or 0),
                int(r["late_days"]) if r.get("late_days") else None,
            )
            for r in csv.DictReader(handle)
        }


@dataclass
class ClassReport:
    totals: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (lesson, student)
    per_question: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (lesson, cell) -> %
    chart: Path | None = None
    table: Path | None = None

    def format(self) -> str:
        lines = [f"{'lesson':<28}{'student':<16}{'score':>12}"]
        for (lesson, student), (score, max_score) in sorted(self.totals.items()):
            lines.append(f"{lesson:<28}{student:<16}{score:>6g} / {max_score:<4g}")
        return "\n".join(lines)


def collect(db_url: str, lessons: list[str], course: str = "default_course") -> ClassReport:
    """Read every autograded submission's scores from the gradebook."""
    from nbgrader.api import Gradebook

    report = ClassReport()
    with Gradebook(db_url, course) as gradebook:
        for lesson in lessons:
            for submission in gradebook.assignment_submissions(lesson):
                student = submission.student.id
                final = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))  # as grades.csv
                report.totals[(lesson, student)] = (final, submission.max_score)
                for notebook in submission.notebooks:
                    for grade in sorted(notebook.grades, key=lambda g: g.name):
                        share = 100.0 * grade.score / grade.max_score if grade.max_score else 0.0
                        report.per_question.setdefault((lesson, grade.name), []).append(share)
    return report


def build_report(out_dir: Path, lessons: list[str], db_url: str, course: str = "default_course") -> ClassReport:
    """Write ``per-question.csv`` and ``class-scores.png`` (mean score per question) into ``out_dir``."""
    report = collect(db_url, lessons, course)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.table = out_dir / "per-question.csv"
    with report.table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesson", "question", "submissions", "mean_percent"])
        for (lesson, name), shares in sorted(report.per_question.items()):
            writer.writerow([lesson, name, len(shares), f"{sum(shares) / len(shares):.1f}"])
    report.chart = out_dir / "class-scores.png"
    _plot(report, report.chart)
    return report


def _plot(report: ClassReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(report.per_question.items())
    labels = [f"{lesson[:2]} {name}" for (lesson, name), _ in items]
    means = [sum(v) / len(v) for _, v in items]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(items) + 2), 4.5))
    bars = ax.bar(range(len(items)), means, color="#4C72B0")
    ax.bar_label(bars, fmt="%.0f%%", fontsize=8)
    ax.set_xticks(range(len(items)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("mean score (% of points)")
    students = len({student for _, student in report.totals})
    ax.set_title(f"Class scores per question ({students} students)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
