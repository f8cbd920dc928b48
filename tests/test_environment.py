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
