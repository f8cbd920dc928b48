import pytest

from course.lessons.prompting import helpdesk as h
from course.lessons.prompting import retrieval as r
from course.references.prompting import bm25_scores


def test_words():
    assert r.words("How many days do I have for a Refund?") == ["many", "days", "have", "refund"]


def test_search_ranks_best_first_and_ties_go_to_the_earlier_text():
    retriever = r.Retriever(["a b", "b", "c"], lambda q, docs: [float(sum(w in d for w in q)) for d in docs])
    assert retriever.search("a b", 2) == [0, 1]
    assert retriever.search("c", 3) == [2, 0, 1]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            retriever.search("a", bad)
    with pytest.raises(ValueError, match="one each"):
        r.Retriever(["a", "b"], lambda q, docs: [1.0]).scores("a")


def test_bm25_finds_the_note_of_every_held_out_request_of_quill():
    company = h.quill()
    retrieve = r.notes_retriever(company.documents(), bm25_scores)
    assert r.recall_at_k(retrieve, h.held_out_requests(company), 1) == 1.0


def test_similar_examples_are_of_the_same_kind_and_the_most_similar_comes_last():
    company = h.quill()
    similar = r.examples_retriever(h.solved_examples(company), bm25_scores)
    for request in h.held_out_requests(company):
        chosen = similar(request, 2)
        assert len(chosen) == 2 and all(e.kind == request.kind for e in chosen)
        assert chosen[-1].topic == request.topic
