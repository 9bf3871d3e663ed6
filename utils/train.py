"""A plain training loop: ``fit``, ``evaluate``, ``predict`` and checkpoints.

Module 1 writes this loop by hand; later notebooks call ``fit`` so they can
focus on the model. Batches from the DataLoader are tuples whose **last item
is the targets** and whose other items are passed to the model::

    (x, y)                     -> model(x)            # the usual case
    ((x1, x2), y)              -> model(x1, x2)
    (padded, lengths, labels)  -> model(padded, lengths)   # utils.text.collate_padded

Example::

    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer,
                  epochs=10, val_loader=val_loader, early_stopping_patience=3)
    plot_history(history)
    evaluate(model, test_loader, nn.CrossEntropyLoss())   # {"loss": ..., "accuracy": ...}
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from utils.env import get_device

#: A metric maps (outputs, targets) of one batch to the batch's mean value.
Metric = Callable[[torch.Tensor, torch.Tensor], float]


# --- metrics --------------------------------------------------------------------------------

def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct predictions in a batch.

    - class logits ``[B, C]`` (C >= 2) against integer class targets ``[B]``: argmax;
    - one logit per example, ``[B]`` or ``[B, 1]`` (binary, e.g. with
      ``BCEWithLogitsLoss``) against 0/1 targets of the same length: logit > 0.

    Sequence outputs such as ``[B, C, T]`` are not handled: reshape them to
    ``[B*T, C]`` first, or pass your own ``metric``.
    """
    if outputs.dim() == 2 and outputs.shape[1] >= 2 and targets.dim() == 1:
        if targets.is_floating_point():
            raise ValueError("accuracy: class logits [B, C] need integer class targets [B], "
                             f"got float targets of dtype {targets.dtype}")
        predicted = outputs.argmax(dim=1)
    elif outputs.dim() == 1 or (outputs.dim() == 2 and outputs.shape[1] == 1):
        predicted = outputs.reshape(-1) > 0
        targets = targets.reshape(-1) > 0.5
    else:
        raise ValueError(f"accuracy needs logits [B, C] with targets [B], or one logit per example "
                         f"[B] / [B, 1]; got outputs {tuple(outputs.shape)} and targets {tuple(targets.shape)}. "
                         f"Pass metric=None or your own metric function.")
    if predicted.shape[0] != targets.shape[0]:
        raise ValueError(f"accuracy: {predicted.shape[0]} predictions but {targets.shape[0]} targets")
    return (predicted == targets).float().mean().item()


def _resolve_metric(metric: str | Metric | None) -> tuple[str | None, Metric | None]:
    if metric is None:
        return None, None
    if metric == "accuracy":
        return "accuracy", accuracy
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    raise ValueError("metric must be 'accuracy', None or a function(outputs, targets) -> float, "
                     f"got {metric!r}")


# --- history --------------------------------------------------------------------------------

@dataclass
class History:
    """What happened during :func:`fit`, one list entry per epoch that ran.

    ``val_*`` lists stay empty without a validation loader, ``*_metric`` lists
    without a metric. ``best_epoch`` is 1-based (the first epoch is 1): the
    epoch with the lowest validation loss (training loss if there is no
    validation set). ``restored_best_weights`` says whether the model was
    reset to that epoch's weights at the end (it is, when early stopping is on).
    """

    train_loss: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    restored_best_weights: bool = False
    metric_name: str | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs that ran."""
        return len(self.train_loss)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-able) of every field."""
        return asdict(self)

    def to_dataframe(self):
        """A pandas DataFrame, one row per epoch (index ``epoch``, from 1); empty lists are left out."""
        import pandas as pd

        columns = {
            name: values
            for name in ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "epoch_seconds")
            if (values := getattr(self, name))
        }
        frame = pd.DataFrame(columns, index=pd.RangeIndex(1, self.epochs + 1, name="epoch"))
        if self.metric_name:
            frame = frame.rename(columns={"train_metric": f"train_{self.metric_name}",
                                          "val_metric": f"val_{self.metric_name}"})
        return frame


# --- moving batches -------------------------------------------------------------------------

def _to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(o, device) for o in obj)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


def _split_batch(batch: Any) -> tuple[tuple, Any]:
    """``(x, y)`` -> ``((x,), y)``; ``((x1, x2), y)`` and ``(x1, x2, y)`` -> ``((x1, x2), y)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(f"each batch must be a tuple (inputs..., targets), got {type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    *inputs, targets = batch
    if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)):
        inputs = inputs[0]
    return tuple(inputs), targets


def _check_loader(loader: Iterable, name: str) -> None:
    try:
        size = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return  # an iterable without a length; checked while iterating
    if size == 0:
        raise ValueError(f"{name} is empty: it yields no batches (is the dataset empty, or "
                         f"drop_last=True with fewer examples than batch_size?)")


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return get_device()


# --- one pass over the data -----------------------------------------------------------------

def _run_epoch(model, loader, loss_fn, device, metric_fn, optimizer=None, grad_clip=None, name="loader"):
    """One pass over ``loader``: trains if ``optimizer`` is given, else evaluates.
    Returns (mean loss or None, mean metric or None), averaged over examples."""
    training = optimizer is not None
    model.train(training)
    total_loss = total_metric = 0.0
    seen = 0
    with torch.set_grad_enabled(training):
        for step, batch in enumerate(loader):
            inputs, targets = _to_device(_split_batch(batch), device)
            outputs = model(*inputs)
            n = len(targets)
            if loss_fn is not None:
                loss = loss_fn(outputs, targets)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    raise FloatingPointError(
                        f"the loss is {loss_value} at batch {step} of {name}; training has diverged. "
                        f"Try a lower learning rate, grad_clip, or check the inputs for NaN/inf."
                    )
                if training:
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if grad_clip is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                    optimizer.step()
                total_loss += loss_value * n
            if metric_fn is not None:
                with torch.no_grad():
                    total_metric += float(metric_fn(outputs.detach(), targets)) * n
            seen += n
    if seen == 0:
        raise ValueError(f"{name} is empty: it yielded no batches")
    return (total_loss / seen if loss_fn is not None else None,
            total_metric / seen if metric_fn is not None else None)


# --- fit / evaluate / predict ---------------------------------------------------------------

def fit(
    model: nn.Module,
    train_loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    val_loader: Iterable | None = None,
    device: str | torch.device | None = None,
    scheduler: Any | None = None,
    metric: str | Metric | None = "accuracy",
    early_stopping_patience: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    progress: bool = True,
    grad_clip: float | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    - ``device``: where to train (default ``utils.env.get_device()``); the model
      and every batch are moved there.
    - ``metric``: ``"accuracy"`` (see :func:`accuracy`), ``None``, or a function
      ``(outputs, targets) -> float`` returning a batch mean; epoch values are
      averaged over examples.
    - ``scheduler``: stepped once per epoch, after validation;
      ``ReduceLROnPlateau`` is given the validation loss (training loss without
      a validation set).
    - ``early_stopping_patience``: stop when the validation loss has not improved
      for this many epochs; the best epoch's weights are restored at the end.
    - ``checkpoint_path``: the best model (and optimizer) so far is saved there
      with :func:`save_checkpoint`, with extras ``epoch`` and ``loss``.
    - ``grad_clip``: clip the gradient norm to this value before each step.
    - ``progress``: one ``tqdm`` bar over epochs, showing the last epoch's
      numbers; it reads well in a notebook and as a few lines in a CI log.

    A non-finite loss stops training with a ``FloatingPointError``.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if early_stopping_patience is not None:
        if isinstance(early_stopping_patience, bool) or not isinstance(early_stopping_patience, int) \
                or early_stopping_patience < 1:
            raise ValueError("early_stopping_patience must be an int >= 1 or None, "
                             f"got {early_stopping_patience!r}")
        if val_loader is None:
            raise ValueError("early stopping watches the validation loss: pass val_loader too")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be > 0 or None, got {grad_clip!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, e.g. nn.CrossEntropyLoss(), got {type(loss_fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    metric_name, metric_fn = _resolve_metric(metric)

    device = get_device() if device is None else torch.device(device)
    model.to(device)
    history = History(metric_name=metric_name)
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0

    bar = tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        history.lr.append(optimizer.param_groups[0]["lr"])
        train_loss, train_metric = _run_epoch(model, train_loader, loss_fn, device, metric_fn,
                                              optimizer, grad_clip, name="train_loader")
        history.train_loss.append(train_loss)
        if metric_fn is not None:
            history.train_metric.append(train_metric)
        postfix = {"loss": f"{train_loss:.4f}"}
        if metric_name:
            postfix[metric_name] = f"{train_metric:.4f}"
        watched = train_loss
        if val_loader is not None:
            val_loss, val_metric = _run_epoch(model, val_loader, loss_fn, device, metric_fn,
                                              name="val_loader")
            history.val_loss.append(val_loss)
            postfix["val_loss"] = f"{val_loss:.4f}"
            if metric_fn is not None:
                history.val_metric.append(val_metric)
                postfix[f"val_{metric_name}"] = f"{val_metric:.4f}"
            watched = val_loss

        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(watched)
            else:
                scheduler.step()
        history.epoch_seconds.append(time.perf_counter() - start)
        bar.set_postfix(postfix, refresh=False)

        if watched < best_loss:
            best_loss, history.best_epoch, epochs_without_improvement = watched, epoch, 0
            if early_stopping_patience is not None:
                best_state = copy.deepcopy(model.state_dict())
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, model, optimizer, epoch=epoch, loss=watched)
        else:
            epochs_without_improvement += 1
            if early_stopping_patience is not None and epochs_without_improvement >= early_stopping_patience:
                history.stopped_early = True
                break
    bar.close()

    if best_state is not None:
        model.load_state_dict(best_state)
        history.restored_best_weights = True
    return history


def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    device: str | torch.device | None = None,
    metric: str | Metric | None = "accuracy",
) -> dict[str, float]:
    """Mean loss and metric over ``loader``, without gradients, in eval mode.

    Returns e.g. ``{"loss": 0.31, "accuracy": 0.91}`` (``"loss"`` only when
    ``loss_fn`` is given; the metric's key is its name). ``device`` defaults to
    the device the model is already on. The model's train/eval mode is
    restored afterwards.
    """
    _check_loader(loader, "loader")
    metric_name, metric_fn = _resolve_metric(metric)
    if loss_fn is None and metric_fn is None:
        raise ValueError("nothing to evaluate: give a loss_fn, a metric, or both")
    device = _model_device(model) if device is None else torch.device(device)
    was_training = model.training
    model.to(device)
    try:
        loss, value = _run_epoch(model, loader, loss_fn, device, metric_fn, name="loader")
    finally:
        model.train(was_training)
    result = {}
    if loss is not None:
        result["loss"] = loss
    if metric_name is not None:
        result[metric_name] = value
    return result


@torch.no_grad()
def predict(
    model: nn.Module,
    loader: Iterable,
    device: str | torch.device | None = None,
    *,
    probabilities: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All of the model's outputs and the targets, concatenated, on the CPU.

    Returns ``(outputs [N, C], targets [N])`` — logits, or probabilities with
    ``probabilities=True`` (softmax over dim 1; sigmoid for one output per
    example). For a confusion matrix: ``plot_confusion_matrix(targets, outputs.argmax(1))``.
    ``device`` defaults to the device the model is already on.
    """
    _check_loader(loader, "loader")
    device = _model_device(model) if device is None else torch.device(device)
    was_training = model.training
    model.to(device).eval()
    outputs, targets = [], []
    try:
        for batch in loader:
            inputs, y = _split_batch(batch)
            outputs.append(model(*_to_device(inputs, device)).cpu())
            targets.append(torch.as_tensor(y).cpu())
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("loader is empty: it yielded no batches")
    logits, y = torch.cat(outputs), torch.cat(targets)
    if probabilities:
        if logits.dim() >= 2 and logits.shape[1] > 1:
            logits = logits.softmax(dim=1)
        else:
            logits = logits.sigmoid()
    return logits, y


# --- checkpoints ----------------------------------------------------------------------------

_PLAIN_TYPES = (type(None), bool, int, float, str)


def _check_plain(value: Any, where: str) -> None:
    """Extras must load with ``torch.load(weights_only=True)``: plain Python values and tensors."""
    if isinstance(value, (_PLAIN_TYPES, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key of type {type(key).__name__}; use str or int keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__name__}; checkpoint extras must be "
                    f"plain Python values (int, float, str, bool, None, lists, dicts) or tensors, "
                    f"e.g. float(x) or history.as_dict()")


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    **extra: Any,
) -> Path:
    """Save the model's (and optimizer's) state and any ``extra`` values to ``path``.

    The file is written to a temporary file beside it and then renamed, so a
    crash never leaves a half-written checkpoint. Parent folders are created.
    ``extra`` values must be plain Python values or tensors (they are loaded
    back with ``weights_only=True``). Returns the path.
    """
    path = Path(path)
    _check_plain(extra, "extra")
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "extra": extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    Uses ``torch.load(..., weights_only=True)``, which cannot run code hidden in
    a file. Returns the ``extra`` dict saved with it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (absolute: {path.absolute()}); "
                                f"train first, or check the path")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or "model" not in payload:
        raise ValueError(f"{path} is not a checkpoint from utils.train.save_checkpoint "
                         f"(expected a dict with a 'model' entry)")
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as exc:
        raise RuntimeError(f"the checkpoint {path} does not fit this model (saved from a different "
                           f"architecture?):\n{exc}") from exc
    if optimizer is not None:
        if payload.get("optimizer") is None:
            raise ValueError(f"the checkpoint {path} has no optimizer state; call without optimizer")
        try:
            optimizer.load_state_dict(payload["optimizer"])
        except (ValueError, KeyError) as exc:
            raise ValueError(f"the optimizer state in {path} does not fit this optimizer: {exc}") from exc
    return dict(payload.get("extra") or {})
