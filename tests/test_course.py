import json

import nbformat
import numpy as np
import pytest
import torch

from utils import course


def write_notebook(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A test notebook")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def test_record_writes_to_the_runners_file(tmp_path, monkeypatch):
    metrics = tmp_path / "m.jsonl"
    monkeypatch.setenv(course.METRICS_ENV_VAR, str(metrics))
    assert course.record("test_accuracy", torch.tensor(0.98)).item() == pytest.approx(0.98)
    course.record("best_model", "cnn")
    course.record("loss", np.float32(0.5))
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["test_accuracy", "best_model", "loss"]
    assert rows[0]["value"] == pytest.approx(0.98) and rows[1]["value"] == "cnn"
    assert course.recorded()["loss"] == 0.5


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("", 1.0, ValueError, "non-empty"),
        ("a|b", 1.0, ValueError, "without"),
        ("acc", [1, 2], TypeError, "number or a string"),
        ("acc", True, TypeError, "number or a string"),
        ("loss", float("nan"), ValueError, "not finite"),
    ],
)
def test_record_rejects_bad_input(name, value, error, message, monkeypatch):
    monkeypatch.delenv(course.METRICS_ENV_VAR, raising=False)
    with pytest.raises(error, match=message):
        course.record(name, value)


def test_run_notebook_collects_metrics_and_names_the_failing_cell(tmp_path):
    good = write_notebook(tmp_path / "good.ipynb", "from utils.course import record\nrecord('acc', 0.5 + 0.25)")
    bad = write_notebook(tmp_path / "bad.ipynb", "x = 1", "assert x == 2, 'x should be 2'", "print('never')")
    ok = course.run_notebook(good, cell_timeout=60)
    assert ok.status == "ok" and ok.metrics == {"acc": 0.75} and ok.error == "" and ok.seconds > 0
    failed = course.run_notebook(bad, cell_timeout=60)
    assert failed.status == "failed"
    assert failed.error == "cell 2: AssertionError: x should be 2"
    assert nbformat.read(bad, as_version=4).cells[1].outputs == [], "the runner must not write into the notebook"


def test_main_goes_on_past_a_failure_and_writes_reports(tmp_path, capsys):
    bad = write_notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    good = write_notebook(tmp_path / "good.ipynb", "from utils.course import record\nrecord('n', 3)")
    out = tmp_path / "out"
    assert course.main([str(bad), str(good), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "FAILED" in printed and "ValueError: boom" in printed and "n = 3" in printed
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("notebook,seconds")
    assert len(rows) == 3 and ",failed," in rows[1] and ",ok," in rows[2]
    assert "| notebook |" in (out / "results.md").read_text()


def test_main_rejects_missing_notebooks_and_bad_repeat(tmp_path):
    with pytest.raises(SystemExit):
        course.main([str(tmp_path / "nope.ipynb")])
    with pytest.raises(SystemExit):
        course.main(["--repeat", "0"])


def test_budget_and_table():
    assert course.budget_for(course.REPO_ROOT / "projects" / "x" / "a.ipynb") == 120
    assert course.budget_for(course.REPO_ROOT / "module1_foundations" / "a.ipynb") == 60
    result = course.NotebookResult(str(course.REPO_ROOT / "m" / "a.ipynb"), 12.34, "ok", {"acc": 0.98765})
    table = course.markdown_table([result])
    assert "| `m/a.ipynb` | 12.3 (60) | ok | acc = 0.9877 |" in table


def test_update_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{course.README_START}\nold\n{course.README_END}\noutro\n")
    course.update_readme("| new |", readme)
    assert readme.read_text() == f"intro\n{course.README_START}\n| new |\n{course.README_END}\noutro\n"
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(ValueError, match="no '<!-- results:start -->'"):
        course.update_readme("x", tmp_path / "plain.md")


def test_discover_skips_student_exercises():
    found = course.discover()
    assert all("exercises" not in p.parts for p in found)


def test_merge_tables_replaces_and_adds_rows_in_course_order():
    head = "| notebook | seconds (budget) | status | recorded metrics |\n|---|---:|---|---|"
    old = f"Measured on old machine.\n\n{head}\n| `a.ipynb` | 1.0 (60) | ok | x = 1 |\n| `c.ipynb` | 3.0 (60) | ok | – |"
    new = f"Measured on new machine.\n\n{head}\n| `b.ipynb` | 2.0 (60) | ok | – |\n| `c.ipynb` | 4.0 (60) | ok | y = 2 |"
    merged = course.merge_tables(old, new, ["a.ipynb", "b.ipynb", "c.ipynb"])
    assert merged.splitlines() == [
        "Measured on new machine.", "", *head.splitlines(),
        "| `a.ipynb` | 1.0 (60) | ok | x = 1 |",
        "| `b.ipynb` | 2.0 (60) | ok | – |",
        "| `c.ipynb` | 4.0 (60) | ok | y = 2 |",
    ]


def test_readme_section_reads_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{course.README_START}\nthe table\n{course.README_END}\nend\n", encoding="utf-8")
    assert course.readme_section(readme) == "the table"
    (tmp_path / "plain.md").write_text("no markers", encoding="utf-8")
    assert course.readme_section(tmp_path / "plain.md") == ""
