"""nbgrader settings for the course; `course release` and `course grade` use them."""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "beyond-prompting"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Students' graded quiz answers live in answers.json beside the notebook, so
# autograde must copy it; `course release` adds answers files to the ignore list
# for the release step only.
# nbgrader's own execution (Validate in JupyterLab, plain `nbgrader autograde`). `course grade` does not use
# nbgrader autograde: it runs each notebook in a sandboxed kernel with its own limits (`course grade --help`),
# takes every graded cell from the gradebook, and scores quizzes from answers.json outside the kernel.
c.ExecutePreprocessor.timeout = 600
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Feedback shows the student's work and scores, never hidden tests or what their failures print.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "course.grading.feedback.HideAnswerKey",
]
