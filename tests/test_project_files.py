"""The install files agree with one another: what pyproject.toml needs is in
requirements.txt, everything installed is locked in constraints.txt, and the
data packages are pinned (they are installed with --no-deps)."""

import re

import tomllib

from utils.colab import REPO_ROOT

NAME = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")


def requirement_lines(path):
    lines = (REPO_ROOT / path).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def parse(lines):
    return {NAME.match(line).group(1).lower().replace("_", "-"): NAME.match(line).group(2) for line in lines}


def test_pyproject_dependencies_are_in_requirements_with_the_same_bounds():
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        runtime = parse(tomllib.load(f)["project"]["dependencies"])
    requirements = parse(requirement_lines("requirements.txt"))
    missing = {name: bound for name, bound in runtime.items() if requirements.get(name) != bound}
    assert not missing, f"pyproject dependencies missing from requirements.txt or with other bounds: {missing}"


def test_data_packages_are_pinned():
    for line in requirement_lines("requirements-data.txt"):
        assert re.match(r"^[A-Za-z0-9_.\-]+==[\w.]+$", line), f"pin data packages exactly: {line!r}"


def test_constraints_lock_every_requirement():
    locked = parse(requirement_lines("constraints.txt"))
    assert all(bound.startswith("==") for bound in locked.values())
    wanted = parse(requirement_lines("requirements.txt")) | parse(requirement_lines("requirements-data.txt"))
    unlocked = sorted(set(wanted) - set(locked))
    assert not unlocked, f"not in constraints.txt: {unlocked} (regenerate it, see CONTRIBUTING.md)"


def test_environment_yml_installs_the_requirements():
    text = (REPO_ROOT / "environment.yml").read_text()
    assert "-r requirements.txt" in text and "python=3.11" in text
