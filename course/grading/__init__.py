"""The instructor's side: release, grade and report, over nbgrader's gradebook and feedback.

``course grade`` does not trust a submission: ``submission`` rebuilds each notebook around the lesson's
cells from the gradebook (``template``), ``execute`` runs it in a fresh kernel inside a sandbox
(``sandbox``) with time and output limits, graded tests report through ``runner`` rather than through
what the notebook shows, and quizzes are scored from answers.json outside the kernel. ``hostile`` is the
class of attacks the tests grade.

Nothing here imports torch, transformers or the quiz widgets, so the `course` command starts fast.
"""
