"""No exercise can be bought with one call to the course's own code: every public function and class a grading
kernel can import (the ``course`` package without ``course.references``) is tried as the answer to every
declared exercise, through the exercise's driver, on one run's cases, and none may pass; nor may the probe's
compositions of course code with transformers and peft (``library_probe.compositions``)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("library_probe.py")


@pytest.mark.slow
def test_no_course_function_or_class_passes_an_exercise(tmp_path):
    # the probe calls every function with an exercise's arguments, the translators' tools that write files
    # among them: it gets its own copy of the package, and the repository's is left as it was
    package = PROBE.parents[2] / "course"
    copy = shutil.copytree(package, tmp_path / "probed" / "course", ignore=shutil.ignore_patterns("__pycache__"))
    before = _files(package)
    env = {**os.environ, "COURSE_CACHE_DIR": str(tmp_path / "cache"), "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(copy.parent), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, str(PROBE), "20261124"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["package"]) == copy, "the probe must run on its copy of the package"
    assert _files(package) == before, "the probe changed the repository's course package"
    assert report["candidates"] > 100, "the probe found too few candidates to mean anything"
    assert report["compositions"] >= 7, "the probe tried too few compositions with transformers and peft"
    cut_off = [name for name in report["slow"] if name.startswith("composition.")]
    assert not cut_off, f"compositions cut off before their verdict (a pass unseen): {cut_off}"
    assert report["passing"] == [], f"course code answers exercises: {report['passing']}"


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if "__pycache__" not in p.parts}


def test_the_probe_finds_a_reference_when_one_is_visible(monkeypatch):
    """The probe can fail: put a reference where a kernel could import it, and it is found."""
    from course.references.orientation import linear_parameters
    from tests.grading import library_probe

    monkeypatch.setattr(library_probe, "candidates", lambda: iter([("planted.linear_parameters", linear_parameters)]))
    monkeypatch.setattr(library_probe, "LESSON_MODULES", {"00-orientation": "orientation"})
    found = library_probe.passing(1, with_compositions=False)
    assert found == [["00-orientation", "test-linear-parameters", "planted.linear_parameters"]]


def test_the_probe_tries_compositions(monkeypatch):
    """A composition that answers an exercise is found; one that is wrong on some of the cases is not."""
    from course.references.orientation import linear_parameters
    from tests.grading import library_probe

    def counts_like_the_course(in_features, out_features, bias=True):
        return linear_parameters(in_features, out_features, bias)

    def wrong_without_bias(in_features, out_features, bias=True):
        return linear_parameters(in_features, out_features, bias) + (0 if bias else 1)

    monkeypatch.setattr(library_probe, "candidates", lambda: iter([]))
    monkeypatch.setattr(library_probe, "compositions", lambda: [counts_like_the_course, wrong_without_bias])
    monkeypatch.setattr(library_probe, "LESSON_MODULES", {"00-orientation": "orientation"})
    found = library_probe.passing(1)
    assert found == [["00-orientation", "test-linear-parameters", "composition.counts_like_the_course"]]


@pytest.mark.slow
def test_each_composition_works_as_the_shortcut_it_stands_for():
    """A composition that crashes proves nothing: each one computes what its library computes, on a small
    example worked out here."""
    import torch

    from course.references.moe import MoELayer, top_k_router
    from tests.grading import library_probe

    made = {composition.__name__: composition for composition in library_probe.compositions()}
    toy = {"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2}
    toy |= {"num_key_value_heads": 1, "intermediate_size": 8, "tie_word_embeddings": True}
    assert made["dense_count_on_meta"](toy) == 196  # lesson 02's worked example
    torch.manual_seed(0)
    h, w = torch.randn(7, 8), torch.randn(5, 8)
    for got, want in zip(made["router_via_mixtral_block"](h, w, 2), top_k_router(h, w, 2), strict=True):
        assert torch.allclose(got.float(), want.float(), atol=1e-6)
    assert made["router_via_phimoe_block"](h, w, 2)[1].shape == (7, 2)
    layer, reference = made["MoELayerViaMixtralBlock"](8, 16, 4, 2), MoELayer(8, 16, 4, 2)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 8)
    with torch.no_grad():
        assert torch.allclose(layer(x), reference(x), atol=1e-5)
    tiny = {"model_type": "phi3", "hidden_size": 8, "intermediate_size": 16, "num_attention_heads": 2}
    tiny |= {"num_key_value_heads": 2, "num_hidden_layers": 1}
    assert made["lora_count_with_peft"](tiny, 1) == (8 + 24) + (8 + 8) + (8 + 32) + (16 + 8)  # lesson 05's example
    for lora_class in ("LoRAViaPeft", "LoRAViaPeftOnACopy"):
        base = torch.nn.Linear(20, 12)
        lora = made[lora_class](base, r=4, alpha=8)
        x = torch.randn(5, 20)
        with torch.no_grad():
            lora.lora_B.normal_()
            assert torch.allclose(lora(x), base(x) + 2.0 * x @ (lora.lora_B @ lora.lora_A).T, atol=1e-5)
            assert torch.allclose(lora.merge()(x), lora(x), atol=1e-5)
