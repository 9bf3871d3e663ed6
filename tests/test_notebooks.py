"""Repository-wide promises that a notebook file can show (DESIGN.md): valid,
outputs stripped, badge and setup cell current, student notebooks generated,
no absolute paths, listed in the README, ending with assertions."""

import re

import nbformat
import pytest

from utils import colab, exercises

NOTEBOOKS = colab.find_notebooks()
ROOT = colab.REPO_ROOT
README = (ROOT / "README.md").read_text(encoding="utf-8")
LESSONS = [p for p in NOTEBOOKS if not {"exercises", "solutions"} & set(p.relative_to(ROOT).parts)]
SOLUTIONS = exercises.solution_notebooks()
ABSOLUTE_PATH = re.compile(r"(/work/|/home/\w|/Users/\w|/root/|[A-Z]:\\\\)")


def ids(paths):
    return [p.relative_to(ROOT).as_posix() for p in paths]


def test_the_course_has_notebooks():
    assert LESSONS, "no lesson notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_notebook_is_valid_stripped_and_stamped(path):
    nb = colab.read_notebook(path)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"outputs not stripped in cells {dirty}: run `jupyter nbconvert --clear-output --inplace {path}`"
    assert not colab.stamp_notebook(nb, path), "badge or setup cell is not current: run `python -m utils.colab`"
    text = path.read_text(encoding="utf-8")
    assert not ABSOLUTE_PATH.search(text), f"absolute path in notebook: {ABSOLUTE_PATH.search(text).group(0)!r}"


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_is_in_the_course_map_and_ends_with_assertions(path):
    assert path.name in README, f"{path.name} is missing from the README's course map"
    code = [c.source for c in colab.read_notebook(path).cells if c.cell_type == "code"]
    assert "assert" in code[-1], "the last code cell should assert what the notebook taught"


@pytest.mark.parametrize("path", [p for p in LESSONS if p.parts[-2].startswith("module")],
                         ids=ids([p for p in LESSONS if p.parts[-2].startswith("module")]))
def test_module_lesson_has_exercises(path):
    assert (path.parent / "solutions" / path.name).exists(), f"no solutions/{path.name} beside the lesson"
    assert (path.parent / "exercises" / path.name).exists(), f"no exercises/{path.name} beside the lesson"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_student_notebook_is_what_the_generator_makes(path):
    target = exercises.student_path(path)
    assert target.exists(), f"{target} is missing: run `python -m utils.exercises`"
    expected = colab.notebook_text(exercises.make_student_notebook(colab.read_notebook(path), path))
    assert target.read_text(encoding="utf-8") == expected, f"{target} is stale: run `python -m utils.exercises`"


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_every_exercise_is_followed_by_a_check(path):
    cells = [c.source for c in colab.read_notebook(path).cells if c.cell_type == "code"]
    exercise_cells = [i for i, s in enumerate(cells) if exercises.BEGIN in s]
    assert len(exercise_cells) >= 3, "each notebook's exercises need at least three exercises"
    for i in exercise_cells:
        following = cells[i:i + 2]
        assert any("check_" in s for s in following), f"exercise cell {i} has no check_… call right after it"


def test_no_orphan_student_notebooks():
    generated = {exercises.student_path(p) for p in SOLUTIONS}
    orphans = [p for p in NOTEBOOKS if p.parent.name == "exercises" and p not in generated]
    assert not orphans, f"student notebooks without a solution notebook: {orphans}"
