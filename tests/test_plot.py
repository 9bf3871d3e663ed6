"""Tests of utils.plot: every figure has its title and labels, and shows the right data."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from utils.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_history,
    show_images,
)
from utils.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_history(with_val=True, with_metric=True):
    h = History(train_loss=[1.0, 0.6, 0.4], lr=[0.1] * 3, epoch_seconds=[0.1] * 3,
                metric_name="accuracy" if with_metric else None, best_epoch=2)
    if with_metric:
        h.train_metric = [0.5, 0.7, 0.8]
    if with_val:
        h.val_loss = [1.1, 0.7, 0.75]
        if with_metric:
            h.val_metric = [0.45, 0.65, 0.7]
    return h


# --- plot_history ---------------------------------------------------------------------------

def test_plot_history_two_panels_with_labels_and_data():
    history = make_history()
    fig = plot_history(history, title="My run")
    assert isinstance(fig, Figure)
    loss_ax, metric_ax = fig.axes
    assert fig.get_suptitle() == "My run"
    assert loss_ax.get_title() == "Loss" and metric_ax.get_title() == "Accuracy"
    assert loss_ax.get_xlabel() == metric_ax.get_xlabel() == "epoch"
    assert loss_ax.get_ylabel() == "loss" and "accuracy" in metric_ax.get_ylabel()
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert list(lines["training"].get_xdata()) == [1, 2, 3]
    assert list(lines["training"].get_ydata()) == history.train_loss
    assert list(lines["validation"].get_ydata()) == history.val_loss
    assert "best epoch (2)" in lines
    metric_lines = {line.get_label(): line for line in metric_ax.get_lines()}
    assert list(metric_lines["validation"].get_ydata()) == history.val_metric


def test_plot_history_accepts_a_dict_and_skips_what_is_missing():
    fig = plot_history(make_history(with_val=False, with_metric=False).as_dict())
    assert len(fig.axes) == 1
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["training"]  # no validation curve, no best-epoch line


def test_plot_history_into_given_axes_and_custom_metric_name():
    fig, axes = plt.subplots(1, 2)
    assert plot_history(make_history(), axes=axes, metric_name="top-1") is fig
    assert axes[1].get_title() == "Top-1" and axes[1].get_ylabel() == "top-1"
    with pytest.raises(ValueError, match="need 2 axes"):
        plot_history(make_history(), axes=[axes[0]])


def test_plot_history_bad_input():
    with pytest.raises(ValueError, match="train_loss"):
        plot_history(History())
    with pytest.raises(TypeError, match="History"):
        plot_history([1.0, 0.5])


# --- show_images ----------------------------------------------------------------------------

def test_show_images_grid_titles_and_wrong_predictions_in_red():
    images = torch.rand(10, 1, 8, 8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    preds = labels.clone()
    preds[[2, 5]] = 0
    fig = show_images(images, labels, preds, ncols=4, title="Samples", class_names=["zero", "one", "two"])
    assert isinstance(fig, Figure)
    assert fig.get_suptitle() == "Samples"
    assert len(fig.axes) == 10 and sum(len(ax.images) for ax in fig.axes) == 10
    red = [i for i, ax in enumerate(fig.axes) if ax.title.get_color() == "red"]
    assert red == [2, 5]
    assert fig.axes[2].get_title() == "zero\n(true: two)"
    assert fig.axes[1].get_title() == "one"
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), images[0, 0].numpy())


def test_show_images_shapes_and_dtypes():
    rgb = show_images(torch.rand(3, 3, 5, 5))
    assert rgb.axes[0].images[0].get_array().shape == (5, 5, 3)
    gray = show_images(np.zeros((2, 6, 6), dtype=np.uint8), labels=[3, 4])
    assert [ax.get_title() for ax in gray.axes] == ["3", "4"]
    clipped = show_images(torch.full((1, 4, 4), 2.0))
    assert clipped.axes[0].images[0].get_array().max() == 1.0


@pytest.mark.parametrize(
    "images, kwargs, error, message",
    [
        (torch.rand(8, 8), {}, ValueError, r"images\[None\]"),
        (torch.rand(2, 2, 8, 8), {}, ValueError, "C = 1 or 3"),
        (torch.rand(2, 1, 1, 8, 8), {}, ValueError, "N, C, H, W"),
        (torch.rand(0, 8, 8), {}, ValueError, "empty"),
        (torch.zeros(2, 8, 8, dtype=torch.int64), {}, TypeError, "uint8"),
        (torch.rand(2, 8, 8), {"labels": [1]}, ValueError, "1 labels"),
        (torch.rand(2, 8, 8), {"labels": [0, 5], "class_names": ["a", "b"]}, ValueError, "class_names"),
        (torch.rand(2, 8, 8), {"ncols": 0}, ValueError, "ncols"),
    ],
)
def test_show_images_bad_input(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        show_images(images, **kwargs)


# --- plot_decision_boundary -----------------------------------------------------------------

def blobs():
    g = torch.Generator().manual_seed(0)
    X = torch.cat([torch.randn(20, 2, generator=g) - 2, torch.randn(20, 2, generator=g) + 2])
    y = torch.cat([torch.zeros(20), torch.ones(20)]).long()
    return X, y


def test_decision_boundary_with_labels():
    X, y = blobs()
    calls = []

    def predict_fn(grid):
        calls.append(grid)
        return (grid.sum(1) > 0).long()

    ax = plot_decision_boundary(predict_fn, X, y, resolution=50, title="Linear split")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "Linear split"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    grid = calls[0]
    assert grid.shape == (50 * 50, 2) and grid.dtype == torch.float32
    assert grid[:, 0].min() == pytest.approx(X[:, 0].min().item() - 0.5)
    scatter = ax.collections[-1]
    assert len(scatter.get_offsets()) == 40
    np.testing.assert_array_equal(scatter.get_array(), y.numpy())
    assert ax.get_legend() is not None


def test_decision_boundary_with_probabilities_and_class_scores():
    X, y = blobs()
    ax = plot_decision_boundary(lambda g: torch.sigmoid(g.sum(1)), X, y, resolution=20)
    assert len(ax.collections) >= 3  # filled contours, the 0.5 line, the points
    three = torch.cat([X, torch.randn(5, 2) + torch.tensor([5.0, -5.0])])
    labels = torch.cat([y, torch.full((5,), 2)])
    ax = plot_decision_boundary(lambda g: torch.stack([-g[:, 0], g[:, 0], g[:, 0] - g[:, 1] - 8], 1),
                                three, labels, resolution=20)
    assert len(ax.collections[-1].get_offsets()) == 45


@pytest.mark.parametrize(
    "X, y, fn, message",
    [
        (torch.randn(10, 3), torch.zeros(10), lambda g: g[:, 0] > 0, r"\[N, 2\]"),
        (torch.randn(10), torch.zeros(10), lambda g: g[:, 0] > 0, r"\[N, 2\]"),
        (torch.randn(10, 2), torch.zeros(9), lambda g: g[:, 0] > 0, "9 labels"),
        (torch.randn(10, 2), torch.zeros(10), lambda g: g[:5, 0] > 0, "one per row"),
        (torch.randn(10, 2), torch.zeros(10), lambda g: g[:, 0] * 10, "probabilities"),
    ],
)
def test_decision_boundary_bad_input(X, y, fn, message):
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(fn, X, y, resolution=10)


# --- plot_confusion_matrix ------------------------------------------------------------------

def matrix_from_texts(ax, n, cast=int):
    return np.array([cast(t.get_text()) for t in ax.texts]).reshape(n, n)


def test_confusion_matrix_numbers_equal_sklearn():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    ax = plot_confusion_matrix(torch.tensor(y_true), torch.tensor(y_pred), title="Digits")
    assert isinstance(ax, Axes)
    assert ax.get_title() == "Digits"
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"
    np.testing.assert_array_equal(matrix_from_texts(ax, 4), confusion_matrix(y_true, y_pred))


def test_confusion_matrix_class_names_include_absent_classes_and_normalize():
    y_true, y_pred = [0, 0, 1, 1, 1], [0, 1, 1, 1, 0]
    ax = plot_confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "bird"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
    np.testing.assert_array_equal(matrix_from_texts(ax, 3),
                                  confusion_matrix(y_true, y_pred, labels=[0, 1, 2]))
    ax = plot_confusion_matrix(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(matrix_from_texts(ax, 2, float),
                               confusion_matrix(y_true, y_pred, normalize="true"), atol=0.005)


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, message",
    [
        ([0, 1], [0], {}, "2 labels"),
        ([0, 1], np.zeros((2, 3)), {}, "argmax"),
        ([], [], {}, "empty"),
        ([0, 1], [0, 1], {"normalize": "rows"}, "normalize"),
        ([0, 3], [0, 1], {"class_names": ["a", "b"]}, "0..1"),
    ],
)
def test_confusion_matrix_bad_input(y_true, y_pred, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(y_true, y_pred, **kwargs)
