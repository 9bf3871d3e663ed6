"""Reproducibility and hardware: seeding, picking a device, and a versions report."""

from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata

import numpy as np
import torch

#: Set this environment variable to "cpu", "cuda" or "mps" to override get_device().
DEVICE_ENV_VAR = "COURSE_DEVICE"

_REPORTED_PACKAGES = ("torch", "torchvision", "numpy", "scikit-learn", "matplotlib", "pandas")


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> int:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and every GPU).

    With ``deterministic=True`` PyTorch is also asked to use deterministic
    algorithms (slower on a GPU; warns instead of failing where none exists).
    Returns the seed, so a notebook can print or record it.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}; NumPy cannot use it")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return seed


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """The best device here: CUDA, then Apple MPS, then the CPU.

    ``prefer`` (or the ``COURSE_DEVICE`` environment variable) forces one of
    "cuda", "mps" or "cpu"; asking for one that is not available is an error
    rather than a silent fallback.
    """
    wanted = prefer if prefer is not None else os.environ.get(DEVICE_ENV_VAR) or None
    if wanted is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    wanted = str(wanted).lower()
    kind = wanted.split(":")[0]
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
    if kind not in available:
        raise ValueError(f"unknown device {wanted!r}: expected one of 'cuda', 'mps' or 'cpu'")
    if not available[kind]:
        source = "argument" if prefer is not None else f"environment variable {DEVICE_ENV_VAR}"
        raise RuntimeError(
            f"device {wanted!r} was asked for (by the {source}) but is not available here; "
            f"available: {[k for k, ok in available.items() if ok]}"
        )
    return torch.device(wanted)


def versions() -> dict[str, str]:
    """Python, platform and the versions of the main packages, as a dict."""
    info = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _REPORTED_PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    info["device"] = str(get_device())
    info["cuda"] = torch.version.cuda or "none"
    return info


def versions_report() -> str:
    """A short, aligned text report of :func:`versions`, for the top of a notebook."""
    info = versions()
    width = max(map(len, info))
    return "\n".join(f"{key:<{width}}  {value}" for key, value in info.items())
