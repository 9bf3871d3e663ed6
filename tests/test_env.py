import random

import numpy as np
import pytest
import torch

from utils import env


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_seed_everything_makes_every_generator_repeat():
    env.seed_everything(123)
    first = draw()
    env.seed_everything(123)
    assert draw() == first
    env.seed_everything(124)
    assert draw() != first


def test_seed_everything_returns_seed_and_rejects_bad_seeds():
    assert env.seed_everything(7) == 7
    with pytest.raises(TypeError, match="seed must be an int"):
        env.seed_everything(1.5)
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        env.seed_everything(-1)


def test_get_device_order(monkeypatch):
    monkeypatch.delenv(env.DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.get_device() == torch.device("cpu")
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert env.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_device() == torch.device("cuda")


def test_get_device_override(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "cpu")
    assert env.get_device() == torch.device("cpu")
    monkeypatch.setenv(env.DEVICE_ENV_VAR, "cuda")
    with pytest.raises(RuntimeError, match="COURSE_DEVICE.*not available"):
        env.get_device()
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        env.get_device("tpu")
    assert env.get_device("CPU") == torch.device("cpu")


def test_versions_report_names_the_main_packages():
    report = env.versions_report()
    for name in ("python", "torch", "numpy", "device"):
        assert name in report
    assert env.versions()["torch"] == torch.__version__.split("+")[0] or torch.__version__.startswith(env.versions()["torch"])
