"""Google Colab support: every notebook's "Open in Colab" badge and its setup cell.

The repository's address lives in one place, ``[project.urls] Repository`` in
pyproject.toml, and the data packages in requirements-data.txt. This module
stamps both into every notebook, so changing the address (a fork, say) is::

    python -m utils.colab            # stamp every notebook in the repository
    python -m utils.colab --check    # exit 1 and list notebooks that are not current

A notebook's badge sits in its first (markdown) cell, on the line after the
title; the setup cell is the first code cell and starts with ``# Colab setup``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
SETUP_MARKER = "# Colab setup"
BADGE_PLACEHOLDER = "<!-- colab-badge -->"
_BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\(.*\)\]\(.*\)[ \t]*$", re.MULTILINE)
_EXCLUDED_DIRS = {".venv", "artifacts", ".ipynb_checkpoints", ".git", "build", "dist"}


def repository_url(root: Path = REPO_ROOT) -> str:
    """The course repository's URL, from pyproject.toml (``https://github.com/OWNER/REPO``)."""
    with open(root / "pyproject.toml", "rb") as f:
        url = tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")
    if not url.startswith("https://github.com/"):
        raise ValueError(f"[project.urls] Repository must be a https://github.com/OWNER/REPO URL, got {url!r}")
    return url


def data_requirements(root: Path = REPO_ROOT) -> list[str]:
    """The pinned data packages of requirements-data.txt (comments dropped)."""
    lines = (root / "requirements-data.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def badge_markdown(notebook: Path, root: Path = REPO_ROOT) -> str:
    """The Markdown of the "Open in Colab" badge for a notebook in this repository."""
    relative = Path(notebook).resolve().relative_to(root.resolve()).as_posix()
    repo = repository_url(root).removeprefix("https://github.com/")
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{repo}/blob/main/{relative})"
    )


def setup_cell_source(root: Path = REPO_ROOT) -> str:
    """The setup cell every notebook starts with: installs on Colab, does nothing elsewhere."""
    data = " ".join(data_requirements(root))
    return (
        f"{SETUP_MARKER}: stamped by `python -m utils.colab`, the same in every notebook.\n"
        "# On Google Colab it installs the course's `utils` package and its data packages\n"
        "# beside Colab's own PyTorch (which it leaves alone); anywhere else it does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f"    %pip install --quiet --no-deps {data}\n"
        f'    %pip install --quiet "deep-learning-practice @ git+{repository_url(root)}"\n'
    )


def stamp_notebook(nb: nbformat.NotebookNode, path: Path, root: Path = REPO_ROOT) -> bool:
    """Put the current badge and setup cell into ``nb`` (which will live at ``path``).

    Returns True if anything changed. Raises ValueError if the notebook does not
    start with a markdown title cell.
    """
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        raise ValueError(f"{path}: the first cell must be a markdown cell starting with a '# Title' line")
    changed = False
    title_cell = cells[0]
    badge = badge_markdown(path, root)
    if BADGE_PLACEHOLDER in title_cell.source:
        new_source = title_cell.source.replace(BADGE_PLACEHOLDER, badge)
    elif _BADGE_RE.search(title_cell.source):
        new_source = _BADGE_RE.sub(badge, title_cell.source, count=1)
    else:
        title, _, rest = title_cell.source.partition("\n")
        new_source = f"{title}\n\n{badge}\n" + (f"\n{rest.lstrip(chr(10))}" if rest.strip() else "")
    if new_source != title_cell.source:
        title_cell.source, changed = new_source, True

    setup = setup_cell_source(root)
    code_cells = [c for c in cells if c.cell_type == "code"]
    if code_cells and code_cells[0].source.startswith(SETUP_MARKER):
        if code_cells[0].source != setup:
            code_cells[0].source, changed = setup, True
    else:
        cells.insert(1, nbformat.v4.new_code_cell(setup))
        changed = True
    return changed


def find_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """Every notebook in the repository (lessons, exercises, solutions, projects)."""
    return sorted(
        p for p in root.rglob("*.ipynb") if not _EXCLUDED_DIRS.intersection(p.relative_to(root).parts)
    )


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """A notebook's file text, the way Jupyter writes it (1-space indent, trailing newline)."""
    return nbformat.writes(nb) + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    Path(path).write_text(notebook_text(nb), encoding="utf-8")


def report(changed: list[Path], *, check: bool, done: str, command: str) -> int:
    """Print what a generating command changed (with ``--check``: would change); return the exit code."""
    for path in changed:
        print(f"{'stale' if check else done}: {path}")
    if check and changed:
        print(f"run `{command}` to update them", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.colab", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all in the repository)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook is stale")
    args = parser.parse_args(argv)
    stale = []
    for path in args.paths or find_notebooks():
        nb = read_notebook(path)
        if stamp_notebook(nb, path):
            stale.append(path)
            if not args.check:
                write_notebook(nb, path)
    return report(stale, check=args.check, done="stamped", command="python -m utils.colab")


if __name__ == "__main__":
    raise SystemExit(main())
