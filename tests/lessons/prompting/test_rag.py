import pytest

from course.lessons.prompting.rag import (
    Document,
    Retriever,
    format_context,
    load_documents,
    load_queries,
    recall_at_k,
    words,
)
from course.references.prompting import top_k


def test_corpus_is_consistent():
    documents = load_documents()
    ids = [d.id for d in documents]
    assert len(ids) == len(set(ids)) >= 10
    assert all(q.relevant in ids for q in load_queries())


def test_words():
    assert words("The LoRA adapters of Phi-3.5-MoE, and more!") == ["lora", "adapters", "phi-3", "5-moe", "more"]


def test_top_k():
    assert top_k([0.1, 3.0, 2.0, 3.0], 3) == [1, 3, 2]
    assert top_k([1.0, 2.0], 5) == [1, 0]
    assert top_k([], 2) == []
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            top_k([1.0], bad)


def test_retriever_finds_the_matching_note():
    retriever = Retriever(load_documents(), top_k)
    best, score = retriever.search("catastrophic forgetting of old skills", k=1)[0]
    assert best.id == "forgetting" and score > 0
    assert len(retriever.scores("anything")) == len(load_documents())
    scores = [s for _, s in retriever.search("tokenizer for many languages", k=5)]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match="at least one document"):
        Retriever([])
    with pytest.raises(ValueError, match="no top_k"):
        Retriever(load_documents()).search("anything", k=1)


def test_recall_grows_with_k():
    retriever, queries = Retriever(load_documents(), top_k), load_queries()
    recalls = [recall_at_k(retriever, queries, k) for k in range(1, len(load_documents()) + 1)]
    assert recalls == sorted(recalls)
    assert recalls[-1] == 1.0
    assert recalls[0] >= 0.75  # the corpus's questions are mostly answerable by keywords
    with pytest.raises(ValueError):
        recall_at_k(retriever, [], 1)


def test_format_context():
    docs = [Document("a", "Alpha", "first"), Document("b", "Beta", "second")]
    assert format_context(docs) == "[Alpha] first\n\n[Beta] second"
