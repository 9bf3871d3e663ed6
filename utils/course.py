"""The course runner, and ``record`` for a notebook's headline numbers.

In a notebook::

    from utils.course import record
    record("test_accuracy", test_accuracy)

From a shell (each notebook in a fresh kernel, with a progress bar)::

    python -m utils.course                      # every lesson, solution and project notebook
    python -m utils.course module1_foundations/01_perceptron.ipynb --repeat 3
    python -m utils.course --update-readme      # also refresh the README's results table
    python -m utils.course a.ipynb --update-readme   # re-measure one; keep the other rows

It prints a table (notebook, seconds, status, recorded metrics), writes
``artifacts/results.csv`` and ``artifacts/results.md``, and goes on past a
failing notebook, naming the cell that failed. Time budgets (60 s, projects
120 s) are reported, not enforced: machines are noisy.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import numbers
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
METRICS_ENV_VAR = "COURSE_METRICS_FILE"
LESSON_BUDGET_S, PROJECT_BUDGET_S = 60, 120
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"

_recorded: dict[str, float | str] = {}


def record(name: str, value):
    """Record a notebook's headline metric (e.g. test accuracy) for the results table.

    ``value`` may be a number, a 0-d tensor/array or a short string. Returns it
    unchanged, so ``acc = record("test_accuracy", evaluate(...))`` reads well.
    """
    if not isinstance(name, str) or not name.strip() or any(ch in name for ch in ",|\n"):
        raise ValueError(f"metric name must be a non-empty string without ',', '|' or newlines, got {name!r}")
    plain = value.item() if hasattr(value, "item") and getattr(value, "ndim", 0) == 0 else value
    if isinstance(plain, bool) or not isinstance(plain, (numbers.Real, str)):
        raise TypeError(f"record({name!r}, …) takes a number or a string, got {type(value).__name__}")
    if isinstance(plain, numbers.Real) and not math.isfinite(plain):
        raise ValueError(f"record({name!r}, {plain}): the value is not finite; did training diverge?")
    plain = plain if isinstance(plain, str) else float(plain)
    _recorded[name] = plain
    path = os.environ.get(METRICS_ENV_VAR)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "value": plain}) + "\n")
    print(f"recorded {name} = {format_value(plain)}")
    return value


def recorded() -> dict[str, float | str]:
    """What this process has recorded so far."""
    return dict(_recorded)


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class NotebookResult:
    path: str
    seconds: float
    status: str  # "ok", "over budget", "failed"
    metrics: dict = field(default_factory=dict)
    error: str = ""
    budget: int = LESSON_BUDGET_S


def budget_for(path: Path) -> int:
    return PROJECT_BUDGET_S if "projects" in Path(path).parts else LESSON_BUDGET_S


def discover(root: Path = REPO_ROOT) -> list[Path]:
    """Every notebook the runner executes: lessons, solutions and projects (not the
    student exercise notebooks, which raise NotImplementedError by design)."""
    from utils.colab import find_notebooks

    return [p for p in find_notebooks(root) if "exercises" not in p.relative_to(root).parts]


def _failing_cell(nb) -> tuple[int, str]:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, f"{output.get('ename')}: {output.get('evalue')}"
    return -1, ""


def run_notebook(path: Path, *, cell_timeout: int = 300, kernel_name: str = "python3") -> NotebookResult:
    """Execute one notebook top to bottom in a fresh kernel, in its own folder."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=cell_timeout, kernel_name=kernel_name, resources={"metadata": {"path": str(path.parent)}}
    )
    fd, metrics_file = tempfile.mkstemp(suffix=".jsonl", prefix="course-metrics-")
    os.close(fd)
    saved_env = {k: os.environ.get(k) for k in (METRICS_ENV_VAR, "MPLBACKEND")}
    os.environ[METRICS_ENV_VAR] = metrics_file
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    error = ""
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError as exc:
        error = f"a cell ran past {cell_timeout} s: {str(exc).splitlines()[0] if str(exc) else ''}"
    except CellExecutionError:
        index, message = _failing_cell(nb)
        error = f"cell {index}: {message}"
    except Exception as exc:  # kernel died, cannot start, ...
        error = f"{type(exc).__name__}: {exc}"
    finally:
        seconds = time.perf_counter() - start
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with open(metrics_file, encoding="utf-8") as f:
            metrics = {row["name"]: row["value"] for row in map(json.loads, f) if row}
        os.unlink(metrics_file)
    budget = budget_for(path)
    status = "failed" if error else ("over budget" if seconds > budget else "ok")
    return NotebookResult(str(path), seconds, status, metrics, error, budget)


def _display_path(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def markdown_table(results: list[NotebookResult], root: Path = REPO_ROOT) -> str:
    lines = [
        "| notebook | seconds (budget) | status | recorded metrics |",
        "|---|---:|---|---|",
    ]
    for r in results:
        metrics = ", ".join(f"{k} = {format_value(v)}" for k, v in r.metrics.items()) or "–"
        status = r.status if not r.error else f"failed ({r.error[:80]})"
        lines.append(f"| `{_display_path(r.path, root)}` | {r.seconds:.1f} ({r.budget}) | {status} | {metrics} |")
    return "\n".join(lines)


def machine_line() -> str:
    import torch

    from utils.env import get_device

    return (
        f"Measured on {os.cpu_count()} CPU cores ({platform.machine()}), device `{get_device()}`, "
        f"Python {platform.python_version()}, torch {torch.__version__}."
    )


def write_reports(results: list[NotebookResult], out_dir: Path, root: Path = REPO_ROOT) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / "results.csv", out_dir / "results.md"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "seconds", "budget_s", "status", "metrics", "error"])
        for r in results:
            writer.writerow([_display_path(r.path, root), f"{r.seconds:.2f}", r.budget, r.status,
                             json.dumps(r.metrics), r.error])
    md_path.write_text(machine_line() + "\n\n" + markdown_table(results, root) + "\n", encoding="utf-8")
    return csv_path, md_path


def update_readme(table_markdown: str, readme: Path) -> None:
    """Replace the text between the results markers in the README."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no '{README_START}' … '{README_END}' section to update")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{table_markdown}\n{README_END}{tail}", encoding="utf-8")


def merge_tables(old_section: str, new_section: str, order: list[str]) -> str:
    """The results section with ``new_section``'s rows replacing or joining ``old_section``'s.

    Rows are keyed by their notebook path and sorted by ``order`` (the course's order), so
    re-measuring a few notebooks keeps the others' rows. The machine line is the new one.
    """
    def rows(section: str) -> dict[str, str]:
        found = {}
        for line in section.splitlines():
            if line.startswith("| `"):
                found[line.split("`")[1]] = line
        return found

    merged = rows(old_section) | rows(new_section)
    rank = {path: i for i, path in enumerate(order)}
    ordered = sorted(merged, key=lambda path: (rank.get(path, len(rank)), path))
    header = [line for line in new_section.splitlines() if line and not line.startswith("| `")]
    machine, table_head = header[0], header[1:]
    return "\n".join([machine, "", *table_head, *(merged[path] for path in ordered)])


def readme_section(readme: Path) -> str:
    """The text between the README's results markers ('' when it has none)."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return ""
    return text.split(README_START, 1)[1].split(README_END, 1)[0].strip("\n")


def run_all(paths: list[Path], *, repeat: int = 1, cell_timeout: int = 300, progress: bool = True) -> list[NotebookResult]:
    """Run each notebook ``repeat`` times; report the median time and the last run's metrics."""
    from tqdm.auto import tqdm

    results = []
    bar = tqdm(paths, desc="notebooks", unit="nb", disable=not progress, file=sys.stderr)
    for path in bar:
        bar.set_postfix_str(Path(path).name)
        runs = [run_notebook(path, cell_timeout=cell_timeout) for _ in range(repeat)]
        last = runs[-1]
        failed = next((r for r in runs if r.status == "failed"), None)
        median = statistics.median(r.seconds for r in runs)
        status = "failed" if failed else ("over budget" if median > last.budget else "ok")
        results.append(NotebookResult(last.path, median, status, last.metrics,
                                      failed.error if failed else "", last.budget))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.course", description="Execute the course's notebooks and report times and metrics.")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks to run (default: every lesson, solution and project notebook)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook; the table shows the median time")
    parser.add_argument("--cell-timeout", type=int, default=300, help="seconds one cell may run before it fails")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "artifacts", help="folder for results.csv and results.md")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md's Results section")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    paths = args.paths or discover()
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        parser.error("no such notebook: " + ", ".join(map(str, missing)))
    if not paths:
        print("no notebooks found")
        return 0
    results = run_all(paths, repeat=args.repeat, cell_timeout=args.cell_timeout)
    table = markdown_table(results)
    print()
    print(machine_line())
    print(table)
    for r in results:
        if r.error:
            print(f"\nFAILED {r.path}: {r.error}")
    csv_path, md_path = write_reports(results, args.out)
    print(f"\nwrote {csv_path} and {md_path}")
    if args.update_readme:
        readme = REPO_ROOT / "README.md"
        section = md_path.read_text(encoding="utf-8").rstrip("\n")
        if args.paths:  # a few notebooks re-measured: keep the other notebooks' rows
            order = [_display_path(str(p), REPO_ROOT) for p in discover()]
            section = merge_tables(readme_section(readme), section, order)
        update_readme(section, readme)
        print("updated README.md")
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
