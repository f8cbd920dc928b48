"""Your code drives the lesson: after an exercise, the lesson uses your function or class, and falls back to the
course's reference (with a visible note) only while yours still raises ``NotImplementedError``.

    router = yours_or_reference(top_k_router, "03-mixture-of-experts")

returns a callable that calls yours; if yours raises ``NotImplementedError`` (the release's stub), the call
is made with the reference instead and a note says so, once. Any other error is yours to see and fix.

Where the references cannot be read, there is nothing to fall back on: while a submission is graded (the sandbox
hides them) and on a class server, where deploy/jupyterhub/ makes them the grader's only, since a reference a
student can import is an answer they can copy. There the call raises ``NotImplementedError`` with a message
that says to write the exercise first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


def yours_or_reference(yours: Callable, lesson: str, name: str | None = None) -> Callable:
    """A stand-in for ``yours`` that uses the reference of exercise ``name`` (default: ``yours.__name__``) of
    ``lesson`` while ``yours`` is not written yet."""
    name = name or yours.__name__
    noted: list[bool] = []

    @functools.wraps(yours)
    def call(*args, **kwargs):
        try:
            return yours(*args, **kwargs)
        except NotImplementedError:
            from course.languages import say

            try:
                from course.references import reference
            except (ImportError, PermissionError):
                raise NotImplementedError(say("lesson.no_reference_here", name=name)) from None
            if not noted:
                noted.append(True)
                print(say("lesson.uses_reference", name=name))
            return reference(lesson, name)(*args, **kwargs)

    return call


class NotPrepared(RuntimeError):
    """A shared artefact is missing from the course cache, and it cannot be built here."""


def reference_to_build(lesson: str, name: str, artefact: str) -> Callable:
    """The reference of exercise ``name`` of ``lesson``, which the course uses to build ``artefact``, a cached
    model every student gets the same (so no helper a kernel can import answers the exercise).

    Where the references cannot be read (a class server, the grading sandbox) such an artefact comes prepared
    by the instructor (``course prepare``); if it is missing there, ``NotPrepared`` says whom to ask."""
    try:
        from course.references import reference
    except (ImportError, PermissionError):
        from course.languages import say

        raise NotPrepared(say("lesson.ask_for_prepare", artefact=artefact)) from None
    return reference(lesson, name)
