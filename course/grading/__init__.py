"""The instructor's side: release, grade and report, over nbgrader's gradebook and feedback.

``layout`` says where everything of a course lives and ``cells`` what nbgrader's cells look like. ``course
grade`` (``grade``) does not trust a submission: ``pipeline`` takes each one through ``files`` (read without
trusting them), ``rebuild`` (the notebook rebuilt around the lesson's cells from the gradebook, ``template``),
``execute`` (a fresh kernel, ``kernel``, inside a sandbox, ``sandbox``, with time and output limits), ``score``
(quizzes scored from answers.json outside the kernel) and ``notes`` (for the feedback, which ``feedback`` keeps
free of the key).

Graded exercises are checked outside the student's process: ``checks`` draws each run's inputs from a recorded
seed and computes the expected results with the references (``course.references``, declared with ``exercise``),
the ``probe`` runs the student's code on the inputs in the kernel through a ``drivers`` function, and ``values``
carries plain data across. Every graded test cell has a declared exercise: ``authoring`` writes the test cells
from the declarations at release and refuses a graded cell without one.

``queue`` grades on several machines: `course grade --queue` enqueues a job per submission in the PostgreSQL
gradebook's database (procrastinate) and `course worker` processes grade them with the same pipeline.

Nothing here imports torch, transformers or the quiz widgets, so the `course` command starts fast.
"""
