"""Lesson 05 §4-8: cached training runs train once, and again only when their code or settings change."""

import torch
from torch import nn

from course.lessons.finetune import runs
from course.lessons.finetune.training import TrainLog


def _settings_a(x):
    return x + 1


def _settings_b(x):
    return x + 2


def test_fingerprint_follows_source_and_settings():
    assert runs.fingerprint([_settings_a, {"lr": 1}]) == runs.fingerprint([_settings_a, {"lr": 1}])
    assert runs.fingerprint([_settings_a, {"lr": 1}]) != runs.fingerprint([_settings_b, {"lr": 1}])
    assert runs.fingerprint([_settings_a, {"lr": 1}]) != runs.fingerprint([_settings_a, {"lr": 2}])
    assert runs.fingerprint([TrainLog]) != runs.fingerprint([nn.Linear])


def test_cached_run_trains_once_then_loads_the_weights_and_the_log(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    calls = []

    def train(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(3.0)
        return TrainLog(train_loss=[2.0, 1.0], seconds_per_step=0.5, test=0.75)

    first = runs.cached_run("probe", nn.Linear(2, 2), train, ["v1"])
    again_model = nn.Linear(2, 2)
    again = runs.cached_run("probe", again_model, train, ["v1"])
    assert len(calls) == 1
    assert again == first and again.test == 0.75
    assert torch.all(again_model.weight == 3.0)
    runs.cached_run("probe", nn.Linear(2, 2), train, ["v2"])
    assert len(calls) == 2
