"""Retrieval for RAG: texts as words, a retriever that ranks them with a scoring function, and recall@k.

Lesson 01 §4 (RAG: notes looked up per request, and solved examples chosen per request); the capstone (lesson 07)
retrieves over the same documents.

Scoring documents with BM25 is the lesson's Exercise 1 (``bm25_scores``), so the retriever takes the scoring
function as an argument: the lesson passes the student's. A scorer is called as
``scorer(query_words, documents_words)`` and returns one score per document, higher meaning more relevant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from course.lessons.prompting.helpdesk import Document, Request

#: Words too common to say anything about relevance.
STOP_WORDS = frozenset(
    "a about am an and are at be by can do does for from go how i if in is it its me my of on or so the this "
    "to what when which who with you".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

#: ``scorer(query_words, documents_words) -> one score per document`` (the lesson's Exercise 1 is BM25).
Scorer = Callable[[list[str], list[list[str]]], Sequence[float]]


def words(text: str) -> list[str]:
    """Lower-case words and numbers (hyphenated words kept whole), stop words dropped."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


class Retriever:
    """Ranks ``texts`` for a query with ``scorer`` over their words."""

    def __init__(self, texts: Sequence[str], scorer: Scorer):
        if not texts:
            raise ValueError("Give the retriever at least one text to search.")
        self.texts = tuple(texts)
        self.scorer = scorer
        self._words = [words(t) for t in self.texts]

    def scores(self, query: str) -> list[float]:
        """One score per text."""
        scores = [float(s) for s in self.scorer(words(query), [list(w) for w in self._words])]
        if len(scores) != len(self.texts):
            raise ValueError(f"The scorer returned {len(scores)} scores for {len(self.texts)} texts: give one each.")
        return scores

    def search(self, query: str, k: int) -> list[int]:
        """Indices of the ``k`` best texts for ``query``, best first (ties go to the earlier text)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive whole number, got {k!r}.")
        scores = self.scores(query)
        return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]


def notes_retriever(documents: Sequence[Document], scorer: Scorer) -> Callable[[str, int], list[Document]]:
    """``retrieve(query, k)``: the ``k`` notes of ``documents`` that ``scorer`` ranks best for ``query``."""
    retriever = Retriever([d.text for d in documents], scorer)
    return lambda query, k: [documents[i] for i in retriever.search(query, k)]


def examples_retriever(pool: Sequence[Request], scorer: Scorer) -> Callable[[Request, int], list[Request]]:
    """``similar(request, k)``: the ``k`` solved requests of ``pool`` (of the same kind, other texts) most
    similar to ``request``, most similar last, nearest the request in the prompt."""

    def similar(request: Request, k: int) -> list[Request]:
        candidates = [e for e in pool if e.kind == request.kind and e.text != request.text]
        chosen = Retriever([e.text for e in candidates], scorer).search(request.text, k)
        return [candidates[i] for i in reversed(chosen)]

    return similar


def recall_at_k(retrieve: Callable[[str, int], list[Document]], requests: Sequence[Request], k: int) -> float:
    """Share of ``requests`` whose answer's note is among the ``k`` notes retrieved for it."""
    if not requests:
        raise ValueError("recall_at_k needs at least one request.")
    return sum(r.source in {d.id for d in retrieve(r.text, k)} for r in requests) / len(requests)
