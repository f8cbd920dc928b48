"""The course models' sizes ship as data (sizes.json), and the kernel-visible package holds no arithmetic over configs.

Lesson 02 asks students to count a dense decoder's parameters and its KV cache from config.json values. The grading
sandbox hides ``course.references`` (where that arithmetic lives, in ``course.references.sizes``) but not the rest of
``course``, so nothing else may compute those numbers from a config.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import course
import course.models
from course.models.configs import MODEL_NAMES, load_config
from course.models.memory import kv_cache_bytes
from course.models.params import count_parameters, non_embedding_parameters
from course.references import sizes
from course.references.slm import TOY_CONFIG
from tools import model_sizes

COURSE = Path(course.__file__).parent
REGENERATE = "course/models/configs/sizes.json is stale: run `python -m tools.model_sizes` and commit the file"

# The toy config of lesson 02's Exercise 1 (from its declaration): 10 x 4 embeddings (tied) + one layer of
# attention (4x4 q, 4x2 k, 4x2 v, 4x4 o), a 3 x 4 x 8 gated MLP and two norms of 4, plus the final norm of 4.
TOY = TOY_CONFIG
TOY_PARAMETERS = 40 + 48 + 96 + 12
TOY_CONTEXT = 1000
TOY_KV_BYTES = 2 * 1 * 2 * TOY_CONTEXT * 2  # K and V, 1 KV head, head_dim 2, 1 layer, 1000 tokens, bf16
# Without a model_type (as in the exercise) and with each dense architecture the course knows.
TOY_CONFIGS = [TOY] + [dict(TOY, model_type=t) for t in ("llama", "mistral", "phi3")]
# Names that only the arithmetic over configs uses: they belong in course/references/sizes.py.
ARITHMETIC_NAMES = {
    "_count",
    "_kv_cache_bytes",
    "_decoder",
    "_mllama",
    "_vision_encoder",
    "_vision_tokens",
    "count_from_config",
    "kv_values",
}


def test_toy_config_is_what_the_reference_counts():
    assert TOY_PARAMETERS == 196
    assert sizes.count_from_config(dict(TOY, model_type="llama")).total == TOY_PARAMETERS
    assert sizes.kv_values(dict(TOY, model_type="llama"))["per_token"] * TOY_CONTEXT * 2 == TOY_KV_BYTES


# ---------------------------------------------------------------- the shipped data


def _shipped() -> dict:
    return json.loads(resources.files("course.models.configs").joinpath("sizes.json").read_text(encoding="utf-8"))


def test_sizes_json_is_what_the_configs_give():
    # fails when a config changed and the file was not regenerated
    assert _shipped() == sizes.all_model_sizes(), REGENERATE
    assert model_sizes.main(["--check"]) == 0, REGENERATE  # also byte for byte (sorted, indented)


def test_sizes_json_has_every_course_model():
    assert sorted(_shipped()) == sorted(MODEL_NAMES)
    for name, entry in _shipped().items():
        assert set(entry) == {"total", "active", "by_part", "kv_values"}, name
        assert set(entry["kv_values"]) == {"per_token", "per_image"}, name
        assert sum(entry["by_part"].values()) == entry["total"] >= entry["active"] > 0, name


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_public_functions_read_the_shipped_sizes(name):
    config, entry = load_config(name), _shipped()[name]
    assert count_parameters(name) == sizes.count_from_config(config)
    assert count_parameters(name).by_part == entry["by_part"]
    parts = entry["by_part"]
    assert non_embedding_parameters(name) == entry["total"] - parts["embeddings"] - parts.get("lm_head", 0)
    kv = sizes.kv_values(config)
    assert kv_cache_bytes(name, 3, batch=2, precision="fp32", images=1) == (3 * kv["per_token"] + kv["per_image"]) * 8


def test_check_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "sizes.json"
    data = sizes.all_model_sizes()
    data["mistral-7b"]["total"] += 1
    stale.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    monkeypatch.setattr(model_sizes, "PATH", stale)
    assert model_sizes.main(["--check"]) == 1
    assert "python -m tools.model_sizes" in capsys.readouterr().err
    assert model_sizes.main([]) == 0  # rewrites it
    assert json.loads(stale.read_text(encoding="utf-8")) == sizes.all_model_sizes()
    assert model_sizes.main(["--check"]) == 0


# ---------------------------------------------------------------- nothing outside course.references counts a config


def _kernel_visible_files() -> list[Path]:
    return sorted(p for p in COURSE.rglob("*.py") if "references" not in p.relative_to(COURSE).parts)


def test_no_config_arithmetic_is_defined_outside_references():
    found = []
    for path in _kernel_visible_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in ARITHMETIC_NAMES:
                found.append(f"{path.relative_to(COURSE.parent)}:{node.lineno} {node.name}")
    assert not found, f"config arithmetic belongs in course/references/sizes.py: {found}"


def _reveals(module) -> list[str]:
    """The functions of ``module`` that, given the toy config (and a context), return its parameter count or KV
    cache bytes."""
    revealing = []
    for name, function in sorted(vars(module).items()):
        if not inspect.isfunction(function) or function.__module__ != module.__name__:
            continue
        for config in TOY_CONFIGS:
            for args in ((copy.deepcopy(config),), (copy.deepcopy(config), TOY_CONTEXT)):
                try:
                    result = function(*args)
                except Exception:
                    continue
                if result in (TOY_PARAMETERS, TOY_KV_BYTES) or getattr(result, "total", None) == TOY_PARAMETERS:
                    revealing.append(name)
    return sorted(set(revealing))


def _models_modules():
    names = [m.name for m in pkgutil.walk_packages(course.models.__path__, "course.models.")]
    return [importlib.import_module(name) for name in ["course.models", *names]]


def test_the_probe_finds_the_reference_arithmetic():
    # the probe can fail: on the reference module it finds the count (as it would have found the old private
    # course.models.params._count and course.models.memory._kv_cache_bytes)
    assert "count_from_config" in _reveals(sizes)


@pytest.mark.parametrize("module", _models_modules(), ids=lambda m: m.__name__)
def test_no_function_of_course_models_counts_a_config(module):
    revealing = _reveals(module)
    assert not revealing, f"{module.__name__} computes lesson 02's answers from a config: {revealing}"


def test_course_models_do_not_import_the_references():
    # the grading sandbox hides course/references: the kernel-visible modules must work without it
    modules = [m.__name__ for m in _models_modules()] + ["course.lessons.moe.layer", "course.lessons.slm.sizes"]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from course.models.params import count_parameters\n"
        "from course.models.memory import kv_cache_bytes\n"
        "count_parameters('mistral-7b'); kv_cache_bytes('llama-3.2-11b-vision', 10, images=1)\n"
        "leaked = sorted(m for m in sys.modules if m.startswith('course.references'))\n"
        "assert not leaked, leaked\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
