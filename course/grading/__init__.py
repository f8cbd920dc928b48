"""The instructor's side: release, grade and report, over nbgrader's gradebook and feedback.

``layout`` says where everything of a course lives and ``cells`` what nbgrader's cells look like. ``course
grade`` (``grade``) does not trust a submission: ``pipeline`` takes each one through ``files`` (read without
trusting them), ``rebuild`` (the notebook rebuilt around the lesson's cells from the gradebook, ``template``),
``execute`` (a fresh kernel, ``kernel``, inside a sandbox, ``sandbox``, with time and output limits; graded
tests report through ``runner`` rather than through what the notebook shows), ``score`` (quizzes scored from
answers.json outside the kernel) and ``notes`` (for the feedback, which ``feedback`` keeps free of the key).

Nothing here imports torch, transformers or the quiz widgets, so the `course` command starts fast.
"""
