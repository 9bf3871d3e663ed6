"""Make the student exercise notebooks from the solution notebooks.

The solution notebook (``moduleN_*/solutions/NN_topic.ipynb``) is the source.
In its code cells, everything from a ``### BEGIN SOLUTION`` line to the next
``### END SOLUTION`` line (both included) becomes one line,
``raise NotImplementedError(...)``, at the marker's indentation. Outputs are
cleared and the Colab badge is re-stamped for the student notebook's own path
(``moduleN_*/exercises/NN_topic.ipynb``)::

    python -m utils.exercises            # regenerate every student notebook
    python -m utils.exercises --check    # exit 1 if any student notebook is stale
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import nbformat

from utils.colab import (
    REPO_ROOT,
    find_notebooks,
    notebook_text,
    read_notebook,
    report,
    stamp_notebook,
)

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
PLACEHOLDER = 'raise NotImplementedError("Your turn: replace this line with your code, then run the check below.")'


def strip_solutions(source: str, *, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION block in one cell's source with the placeholder."""
    out, inside, indent = [], False, ""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: '{BEGIN}' inside another solution block")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it")
            inside = False
            out.append(indent + PLACEHOLDER)
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def student_path(solution_path: Path) -> Path:
    """``…/solutions/NN_topic.ipynb`` → ``…/exercises/NN_topic.ipynb``."""
    solution_path = Path(solution_path)
    if solution_path.parent.name != "solutions":
        raise ValueError(f"{solution_path}: solution notebooks live in a 'solutions/' folder")
    return solution_path.parent.parent / "exercises" / solution_path.name


def make_student_notebook(solution: nbformat.NotebookNode, solution_path: Path) -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new object; the input is not changed)."""
    student = copy.deepcopy(solution)
    blocks = 0
    for index, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            blocks += cell.source.count(BEGIN)
            cell.source = strip_solutions(cell.source, where=f"{solution_path}, cell {index}")
        cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    if blocks == 0:
        raise ValueError(f"{solution_path}: no '{BEGIN}' block found; nothing for the learner to write")
    stamp_notebook(student, student_path(solution_path))
    return student


def solution_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    return [p for p in find_notebooks(root) if p.parent.name == "solutions"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.exercises", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="solution notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any is stale")
    args = parser.parse_args(argv)
    stale = []
    for solution_path in args.paths or solution_notebooks():
        target = student_path(solution_path)
        expected = notebook_text(make_student_notebook(read_notebook(solution_path), solution_path))
        if not target.exists() or target.read_text(encoding="utf-8") != expected:
            stale.append(target)
            if not args.check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(expected, encoding="utf-8")
    return report(stale, check=args.check, done="wrote", command="python -m utils.exercises")


if __name__ == "__main__":
    raise SystemExit(main())
