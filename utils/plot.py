"""Figures the notebooks share: learning curves, image grids, decision boundaries,
confusion matrices. Every figure has a title and labelled axes.

Each function draws on a new figure (or on the ``ax``/``axes`` you pass) and
returns the ``Axes`` (``Figure`` for multi-panel plots). None calls
``plt.show()``: in a notebook the inline backend shows the figure when the cell
ends. End the line with ``;`` (or assign the result) so it is not shown twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay


def _to_numpy(values: Any, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    try:
        return np.asarray(values)
    except Exception as exc:  # pragma: no cover - unusual containers
        raise TypeError(f"{name} must be a tensor, array or list, got {type(values).__name__}") from exc


# --- learning curves ------------------------------------------------------------------------

def plot_history(
    history: Any,
    *,
    metric_name: str | None = None,
    title: str = "Learning curves",
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Loss (left) and metric (right) per epoch, training vs validation.

    ``history`` is a :class:`utils.train.History` or its ``as_dict()``. The
    metric panel is drawn only if the history has metric values; its name
    defaults to the history's ``metric_name``. The best epoch, when known and
    there is a validation curve, is marked with a dotted line. Pass ``axes``
    (one per panel) to draw into an existing figure.
    """
    record = history.as_dict() if hasattr(history, "as_dict") else history
    if not isinstance(record, Mapping):
        raise TypeError(f"history must be a History or a dict, got {type(history).__name__}")
    if not record.get("train_loss"):
        raise ValueError("history has no train_loss values to plot")
    has_metric = bool(record.get("train_metric") or record.get("val_metric"))
    metric_name = metric_name or record.get("metric_name") or "metric"
    panels = [("loss", "Loss", "loss")]
    if has_metric:
        ylabel = "accuracy (fraction correct)" if metric_name == "accuracy" else metric_name
        panels.append(("metric", metric_name.capitalize(), ylabel))

    if axes is None:
        fig, created = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8),
                                    squeeze=False, layout="constrained")
        axes = list(created[0])
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) != len(panels):
            raise ValueError(f"need {len(panels)} axes (loss{', metric' if has_metric else ''}), got {len(axes)}")
        fig = axes[0].figure

    best = record.get("best_epoch")
    for ax, (key, panel_title, ylabel) in zip(axes, panels):
        for split, label, style in (("train", "training", "-o"), ("val", "validation", "-s")):
            values = record.get(f"{split}_{key}") or []
            if values:
                ax.plot(range(1, len(values) + 1), values, style, markersize=3, label=label)
        if best is not None and record.get("val_loss"):
            ax.axvline(best, color="gray", linestyle=":", label=f"best epoch ({best})")
        ax.set_title(panel_title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return fig


# --- image grids ----------------------------------------------------------------------------

def show_images(
    images: Any,
    labels: Sequence[int] | torch.Tensor | None = None,
    predictions: Sequence[int] | torch.Tensor | None = None,
    *,
    ncols: int = 8,
    cmap: str = "gray",
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Figure:
    """A grid of images, each titled with its label and/or prediction.

    ``images``: ``[N, C, H, W]`` with C = 1 or 3, or ``[N, H, W]``; float in
    [0, 1] (values outside are clipped: un-normalize first) or uint8 in [0, 255].
    With ``predictions``, each title is the prediction; wrong ones (when
    ``labels`` are given) are red and also show the true label.
    ``class_names[i]`` names class i. Returns the Figure (one Axes per image).
    """
    array = _to_numpy(images, "images")
    if array.ndim == 4:
        if array.shape[1] not in (1, 3):
            raise ValueError(f"images [N, C, H, W] need C = 1 or 3 channels, got shape {array.shape}")
        array = array.transpose(0, 2, 3, 1)
        if array.shape[-1] == 1:
            array = array[..., 0]
    elif array.ndim != 3:
        raise ValueError(f"images must be [N, C, H, W] or [N, H, W], got shape {array.shape}"
                         + ("; for one image use images[None]" if array.ndim == 2 else ""))
    n = len(array)
    if n == 0:
        raise ValueError("images is empty")
    if array.dtype == np.uint8:
        vmin, vmax = 0, 255
    elif np.issubdtype(array.dtype, np.floating):
        array, vmin, vmax = np.clip(array, 0.0, 1.0), 0.0, 1.0
    else:
        raise TypeError(f"images must be float in [0, 1] or uint8, got dtype {array.dtype}")
    label_list = None if labels is None else [int(v) for v in _to_numpy(labels, "labels").reshape(-1)]
    pred_list = (None if predictions is None
                 else [int(v) for v in _to_numpy(predictions, "predictions").reshape(-1)])
    for name, values in (("labels", label_list), ("predictions", pred_list)):
        if values is not None and len(values) != n:
            raise ValueError(f"got {n} images but {len(values)} {name}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")

    def name(index: int) -> str:
        if class_names is None:
            return str(index)
        if not 0 <= index < len(class_names):
            raise ValueError(f"class index {index} is outside class_names (length {len(class_names)})")
        return str(class_names[index])

    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.8 * nrows + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(grid.flat):
        if i >= n:
            ax.remove()
            continue
        ax.imshow(array[i], cmap=cmap if array[i].ndim == 2 else None, vmin=vmin, vmax=vmax)
        ax.set_axis_off()
        if pred_list is not None:
            text, color = name(pred_list[i]), "black"
            if label_list is not None and pred_list[i] != label_list[i]:
                text, color = f"{text}\n(true: {name(label_list[i])})", "red"
            ax.set_title(text, color=color, fontsize=9)
        elif label_list is not None:
            ax.set_title(name(label_list[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


# --- decision boundaries --------------------------------------------------------------------

def plot_decision_boundary(
    predict_fn: Callable[[torch.Tensor], Any],
    X: Any,
    y: Any,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    title: str = "Decision boundary",
    padding: float = 0.5,
) -> Axes:
    """Colour the plane by what ``predict_fn`` says, and scatter the points on top.

    ``predict_fn`` takes a float32 tensor ``[M, 2]`` (on the CPU) and returns,
    for each row, a class label ``[M]``, a probability of class 1 ``[M]`` in
    [0, 1], or class scores ``[M, C]`` (the argmax is taken). For example::

        plot_decision_boundary(lambda X: model(X.to(device)).argmax(1), X, y)

    ``X`` is ``[N, 2]``, ``y`` ``[N]`` integer classes. Probabilities are drawn
    as shades with the 0.5 line in black; labels as flat colours.
    """
    points = _to_numpy(X, "X").astype(np.float64)
    classes = _to_numpy(y, "y").reshape(-1)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"X must be [N, 2] (two features, to draw on a plane), got shape {points.shape}")
    if len(classes) != len(points):
        raise ValueError(f"X has {len(points)} points but y has {len(classes)} labels")
    if len(points) == 0:
        raise ValueError("X is empty")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    if not callable(predict_fn):
        raise TypeError(f"predict_fn must be callable, got {type(predict_fn).__name__}")

    (x_min, y_min), (x_max, y_max) = points.min(0) - padding, points.max(0) + padding
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    grid = torch.tensor(np.column_stack([xx.ravel(), yy.ravel()]), dtype=torch.float32)
    with torch.no_grad():
        out = _to_numpy(predict_fn(grid), "predict_fn's output")
    if out.ndim == 2 and out.shape[1] > 1:
        out = out.argmax(1)
    out = out.reshape(-1)
    if len(out) != len(grid):
        raise ValueError(f"predict_fn returned {len(out)} values for {len(grid)} points; "
                         "expected one per row")
    zz = out.reshape(xx.shape).astype(np.float64)

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    is_labels = bool(np.all(zz == np.round(zz)))
    if is_labels:
        n_classes = int(max(zz.max(), classes.max())) + 1
        cmap = ListedColormap(plt.get_cmap("tab10").colors[: max(n_classes, 2)])
        levels = np.arange(n_classes + 1) - 0.5
        ax.contourf(xx, yy, zz, levels=levels, cmap=cmap, alpha=0.3)
        scatter = ax.scatter(points[:, 0], points[:, 1], c=classes, cmap=cmap, vmin=-0.5,
                             vmax=n_classes - 0.5, edgecolors="black", linewidths=0.5, s=20)
    else:
        if zz.min() < 0 or zz.max() > 1:
            raise ValueError("predict_fn returned values that are neither class labels nor probabilities "
                             f"in [0, 1] (range {zz.min():.3g} to {zz.max():.3g}); apply sigmoid/softmax "
                             "or argmax first")
        ax.contourf(xx, yy, zz, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.4)
        ax.contour(xx, yy, zz, levels=[0.5], colors="black", linewidths=1)
        scatter = ax.scatter(points[:, 0], points[:, 1], c=classes, cmap="RdBu_r", vmin=0, vmax=1,
                             edgecolors="black", linewidths=0.5, s=20)
    ax.legend(*scatter.legend_elements(), title="class", loc="best")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    return ax


# --- confusion matrices ---------------------------------------------------------------------

def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    normalize: str | None = None,
    ax: Axes | None = None,
    title: str = "Confusion matrix",
    cmap: str = "Blues",
    xticks_rotation: str | float = "horizontal",
) -> Axes:
    """Counts of (true class, predicted class), drawn by scikit-learn's ``ConfusionMatrixDisplay``.

    ``y_true`` and ``y_pred`` are ``[N]`` class labels (use ``logits.argmax(1)``).
    With ``class_names`` the labels must be integers 0..C-1 and every class gets
    a row and a column, even one that never occurs. ``normalize``: None (counts),
    ``"true"`` (rows sum to 1: recall), ``"pred"`` (columns: precision) or ``"all"``.
    """
    truth, pred = _to_numpy(y_true, "y_true"), _to_numpy(y_pred, "y_pred")
    if pred.ndim == 2:
        raise ValueError(f"y_pred has shape {pred.shape}: pass class labels [N], e.g. logits.argmax(1)")
    if truth.ndim != 1 or pred.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D, got shapes {truth.shape} and {pred.shape}")
    if len(truth) != len(pred):
        raise ValueError(f"y_true has {len(truth)} labels but y_pred has {len(pred)}")
    if len(truth) == 0:
        raise ValueError("y_true is empty")
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    labels = None
    if class_names is not None:
        labels = np.arange(len(class_names))
        for name, values in (("y_true", truth), ("y_pred", pred)):
            if not np.issubdtype(values.dtype, np.integer) or values.min() < 0 or values.max() >= len(labels):
                raise ValueError(f"with class_names, {name} must hold integers 0..{len(labels) - 1}, "
                                 f"got values {np.unique(values)[:10]}")
    if ax is None:
        size = max(4.0, 0.55 * (len(labels) if labels is not None else len(np.union1d(truth, pred))) + 2)
        _, ax = plt.subplots(figsize=(size, size), layout="constrained")
    display = ConfusionMatrixDisplay.from_predictions(
        truth, pred, labels=labels, display_labels=class_names, normalize=normalize, ax=ax,
        cmap=cmap, colorbar=False, values_format=".2f" if normalize else "d",
        xticks_rotation=xticks_rotation,
    )
    display.ax_.set_title(title)
    return display.ax_
