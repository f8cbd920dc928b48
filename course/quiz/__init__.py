"""Quiz questions as data, the clickable widget, and the answers file beside the notebook."""

from .questions import Question, get_question, load_questions
from .store import AnswersFileError, read_answers, record_answer, recorded_answer


def ask(lesson: str, question_id: str):
    """Show one quiz question; imports ipywidgets only when a question is shown."""
    from .widgets import ask as _ask

    return _ask(lesson, question_id)


__all__ = [
    "AnswersFileError",
    "Question",
    "ask",
    "get_question",
    "load_questions",
    "read_answers",
    "record_answer",
    "recorded_answer",
]
