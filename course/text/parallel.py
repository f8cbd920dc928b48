"""Parallel texts: the same content in English, Korean and Japanese, taken from the course's own translations.

Comparing tokenizers across languages needs texts that say the same thing in each language. The course already
has such texts: its quiz questions are translated into Korean and Japanese, and each translation records which
English it translates (``course translations check`` fails when they drift). Using them, rather than a passage
written only for the comparison, means the measurement runs on text students actually read, in the course's own
words, and it follows the translations as they change.
"""

from __future__ import annotations

from collections.abc import Sequence

from course.languages import ENGLISH, LANGUAGES


def quiz_prompts(lessons: Sequence[str], languages: Sequence[str] = LANGUAGES) -> dict[str, str]:
    """The prompts of the quiz questions of ``lessons``, one per line, as one text per language (by code).

    A question enters only when it is translated in every language of ``languages``: an untranslated or outdated
    translation is shown in English, which would compare English with English. So every text holds the same
    questions in the same order."""
    from course.quiz.questions import load_questions

    texts: dict[str, list[str]] = {lang: [] for lang in languages}
    for lesson in lessons:
        english = load_questions(lesson, ENGLISH)
        versions = {lang: load_questions(lesson, lang) for lang in languages}
        for qid, question in english.items():
            prompts = {lang: versions[lang][qid].prompt for lang in languages}
            if all(lang == ENGLISH or prompt != question.prompt for lang, prompt in prompts.items()):
                for lang, prompt in prompts.items():
                    texts[lang].append(prompt)
    if not any(texts.values()):
        raise ValueError(f"No quiz question of {', '.join(lessons)} is translated into {', '.join(languages)}.")
    return {lang: "\n".join(lines) for lang, lines in texts.items()}
