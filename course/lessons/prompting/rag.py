"""RAG as the middle step: BM25 retrieval over the course's own notes, and what the context costs.

Lesson 01 §4 (RAG, the middle step).

The corpus is ``data/course-notes.json``: short notes on the course's topics plus
questions labelled with the note that answers them, so retrieval can be measured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from rank_bm25 import BM25Okapi

STOP_WORDS = frozenset(
    "a an and are as at be but by can do does for from how i in is it its my of on or so that the their "
    "then this to we what when which while with without".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class LabelledQuery:
    question: str
    relevant: str


@cache
def _corpus() -> dict:
    source = resources.files("course.lessons.prompting") / "data" / "course-notes.json"
    return json.loads(source.read_text(encoding="utf-8"))


def load_documents() -> tuple[Document, ...]:
    """The course notes the lesson retrieves from."""
    return tuple(Document(**d) for d in _corpus()["documents"])


def load_queries() -> tuple[LabelledQuery, ...]:
    """Questions, each labelled with the id of the note that answers it."""
    return tuple(LabelledQuery(**q) for q in _corpus()["queries"])


def words(text: str) -> list[str]:
    """Lower-case words and numbers, hyphenated words kept whole, stop words dropped."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


#: Picks the best: ``top_k(scores, k) -> indices of the k highest scores, best first`` (the lesson's Exercise 3).
TopK = Callable[[Sequence[float], int], Sequence[int]]


class Retriever:
    """BM25 (Okapi) over titles and texts of ``documents``; ``top_k`` picks the best documents from the scores
    for ``search`` (the lesson passes the student's function; ``scores`` needs none)."""

    def __init__(self, documents: Sequence[Document], top_k: TopK | None = None):
        if not documents:
            raise ValueError("Give the retriever at least one document.")
        self.documents = tuple(documents)
        self.top_k = top_k
        self._bm25 = BM25Okapi([words(f"{d.title} {d.text}") for d in self.documents])

    def scores(self, query: str) -> np.ndarray:
        """One BM25 score per document (higher is more relevant)."""
        return self._bm25.get_scores(words(query))

    def search(self, query: str, k: int = 3) -> list[tuple[Document, float]]:
        """The ``k`` best documents for ``query`` with their scores."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if self.top_k is None:
            raise ValueError("This retriever has no top_k function: give one, Retriever(documents, top_k=...).")
        scores = self.scores(query)
        return [(self.documents[int(i)], float(scores[int(i)])) for i in self.top_k(scores.tolist(), k)]


def recall_at_k(retriever: Retriever, queries: Sequence[LabelledQuery], k: int) -> float:
    """Share of ``queries`` whose relevant note is among the top ``k`` results."""
    if not queries:
        raise ValueError("recall_at_k needs at least one labelled query.")
    hits = sum(q.relevant in {d.id for d, _ in retriever.search(q.question, k)} for q in queries)
    return hits / len(queries)


def format_context(documents: Sequence[Document]) -> str:
    """Retrieved notes as a prompt's context block, one titled paragraph each."""
    return "\n\n".join(f"[{d.title}] {d.text}" for d in documents)
