"""The instructor's side: release, grade and report, thin over nbgrader.

Nothing here imports torch, transformers or the quiz widgets, so the `course`
command starts fast.
"""
