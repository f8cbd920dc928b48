"""The quiz widget: click an option, the choice is saved and acknowledged."""

from __future__ import annotations

import html
import re
from pathlib import Path

import ipywidgets as widgets

from course.languages import say

from .questions import Question, get_question
from .store import AnswersFileError, read_answers, record_answer

_CODE = re.compile(r"`([^`]+)`")


def _html(text: str) -> str:
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


class QuizWidget:
    """One question on screen; ``selection`` is the set of chosen option ids."""

    def __init__(self, question: Question, answers_path: Path | None = None):
        self.question = question
        self.answers_path = answers_path
        self.feedback = widgets.HTML()
        labels = [(o.text, o.id) for o in question.options]
        if question.multiple:
            self.choices = widgets.VBox([_checkbox(text, oid) for text, oid in labels])
        else:
            self.choices = widgets.RadioButtons(options=labels, value=None, layout={"width": "auto"})
        self._restore()
        self._observe()
        kind = say("quiz.graded") if question.graded else say("quiz.practice")
        header = widgets.HTML(f"<b>{kind}</b> · <code>{question.id}</code><p>{_html(question.prompt)}</p>")
        hint = say("quiz.select_all") if question.multiple else say("quiz.select_one")
        self.box = widgets.VBox(
            [header, widgets.HTML(f"<i>{hint}</i>"), self.choices, self.feedback],
            _dom_classes=["course-quiz"],
        )

    @property
    def selection(self) -> set[str]:
        if self.question.multiple:
            return {box.option_id for box in self.choices.children if box.value}
        return set() if self.choices.value is None else {self.choices.value}

    def select(self, option_ids: set[str] | list[str]) -> None:
        """Choose options programmatically, exactly as clicking them would."""
        if self.question.multiple:
            for box in self.choices.children:
                box.value = box.option_id in set(option_ids)
        else:
            (only,) = option_ids
            self.choices.value = only

    def _observe(self) -> None:
        targets = self.choices.children if self.question.multiple else [self.choices]
        for target in targets:
            target.observe(self._on_change, names="value")

    def _restore(self) -> None:
        try:
            saved = set(read_answers(self.answers_path).get(self.question.id, []))
        except AnswersFileError as err:
            self._show(f"⚠️ {html.escape(str(err))}", "warning")
            return
        saved &= {o.id for o in self.question.options}
        if not saved:
            return
        if self.question.multiple:
            for box in self.choices.children:
                box.value = box.option_id in saved
        else:
            self.choices.value = sorted(saved)[0]
        self._acknowledge(restored=True)

    def _on_change(self, _change: dict) -> None:
        if not self.selection:
            return
        try:
            backup = record_answer(self.question.id, sorted(self.selection), self.answers_path)
        except OSError as err:
            self._show(say("quiz.not_saved", error=html.escape(str(err))), "warning")
            return
        self._acknowledge(backup=backup)

    def _acknowledge(self, restored: bool = False, backup: Path | None = None) -> None:
        chosen = ", ".join(sorted(self.selection))
        parts = [say("quiz.recorded", chosen=chosen) + (say("quiz.restored") if restored else "")]
        if backup is not None:
            parts.append(say("quiz.backup", name=html.escape(backup.name)))
        if not self.question.graded:
            right = self.selection == set(self.question.answer)
            parts.append(say("quiz.correct") if right else say("quiz.not_quite"))
            for option in self.question.options:
                if option.id in self.selection:
                    parts.append(f"<i>{_html(option.text)}</i>: {_html(option.explanation)}")
        else:
            parts.append(say("quiz.graded_later"))
        self._show("<br>".join(parts), "recorded")

    def _show(self, message: str, state: str) -> None:
        self.feedback.value = f'<div class="course-quiz-feedback course-quiz-{state}">{message}</div>'

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def _checkbox(text: str, option_id: str) -> widgets.Checkbox:
    box = widgets.Checkbox(value=False, description=text, indent=False, layout={"width": "auto"})
    box.option_id = option_id
    return box


def ask(lesson: str, question_id: str, answers_path: Path | None = None) -> QuizWidget:
    """Show one quiz question of a lesson; its answer is saved beside the notebook."""
    return QuizWidget(get_question(lesson, question_id), answers_path)
