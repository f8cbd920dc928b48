"""Every end-to-end test is slow: it runs whole notebooks, the grading pipeline, a release or a server, so none
belongs in the fast lane (`make check`) whatever its own markers say. The class graded once and shared by the
hostile test and the queue test lives here."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The hostile class of lesson 00 and the queue test's lesson 01 students, graded once for the session
    (tests/attacks/graded_class.py)."""
    from tests.attacks.graded_class import grade_class

    graded = grade_class(tmp_path_factory.mktemp("class") / "course")
    assert graded.result.returncode == 0, graded.result.stdout[-3000:] + graded.result.stderr[-3000:]
    return graded
