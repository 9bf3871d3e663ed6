import nbformat
import pytest

from utils import colab, exercises


def test_strip_solutions_keeps_the_scaffold_and_indentation():
    source = (
        "def double(x):\n"
        '    """Return 2x."""\n'
        "    ### BEGIN SOLUTION\n"
        "    result = 2 * x\n"
        "    ### END SOLUTION\n"
        "    return result\n"
        "answer = double(3)"
    )
    assert exercises.strip_solutions(source) == (
        "def double(x):\n"
        '    """Return 2x."""\n'
        f"    {exercises.PLACEHOLDER}\n"
        "    return result\n"
        "answer = double(3)"
    )


def test_strip_solutions_handles_several_blocks():
    source = "### BEGIN SOLUTION\na = 1\n### END SOLUTION\nprint(a)\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION"
    assert exercises.strip_solutions(source) == f"{exercises.PLACEHOLDER}\nprint(a)\n{exercises.PLACEHOLDER}"


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\na = 1", "never closed"),
        ("a = 1\n### END SOLUTION", "without a"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_strip_solutions_rejects_unbalanced_markers(source, message):
    with pytest.raises(ValueError, match=message):
        exercises.strip_solutions(source, where="nb, cell 3")


def test_student_path():
    assert exercises.student_path(colab.REPO_ROOT / "m1" / "solutions" / "01_x.ipynb") == colab.REPO_ROOT / "m1" / "exercises" / "01_x.ipynb"
    with pytest.raises(ValueError, match="solutions/"):
        exercises.student_path(colab.REPO_ROOT / "m1" / "01_x.ipynb")


def solution_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# 01 · X — exercises\n\n{colab.BADGE_PLACEHOLDER}"),
        nbformat.v4.new_code_cell("# Colab setup"),
        nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        nbformat.v4.new_code_cell("check_answer(answer)"),
    ]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[2].execution_count = 3
    return nb


def test_make_student_notebook():
    path = colab.REPO_ROOT / "m1" / "solutions" / "01_x.ipynb"
    solution = solution_notebook()
    student = exercises.make_student_notebook(solution, path)
    assert "answer = 42" in solution.cells[2].source, "the solution must not be changed"
    assert "42" not in nbformat.writes(student)
    assert student.cells[2].source == exercises.PLACEHOLDER
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert "blob/main/m1/exercises/01_x.ipynb" in student.cells[0].source
    assert student.cells[1].source == colab.setup_cell_source()


def test_a_solution_notebook_without_blocks_is_an_error():
    nb = solution_notebook()
    nb.cells[2].source = "answer = 42"
    with pytest.raises(ValueError, match="no '### BEGIN SOLUTION' block"):
        exercises.make_student_notebook(nb, colab.REPO_ROOT / "m1" / "solutions" / "01_x.ipynb")


def test_main_check_reports_a_stale_student_notebook(tmp_path, monkeypatch, capsys):
    solutions = tmp_path / "m1" / "solutions"
    solutions.mkdir(parents=True)
    monkeypatch.setattr(exercises, "stamp_notebook", lambda nb, path: False)  # no repo files in tmp_path
    solution = solutions / "01_x.ipynb"
    colab.write_notebook(solution_notebook(), solution)
    assert exercises.main(["--check", str(solution)]) == 1
    assert "stale:" in capsys.readouterr().out
    assert exercises.main([str(solution)]) == 0
    assert (tmp_path / "m1" / "exercises" / "01_x.ipynb").exists()
    assert exercises.main(["--check", str(solution)]) == 0
