"""Tests of the exercise checks of notebook 10 (image segmentation): each check passes right
answers, including ones written differently from the solution, and explains typical mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from utils.checks import ExerciseError
from utils.exercise_checks import segmentation as checks


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)  # the checks draw fresh inputs from torch's global generator: fix them for the tests


# --- right answers ---------------------------------------------------------------------------------

def confusion_matrix(predictions, targets, num_classes):
    index = targets.flatten() * num_classes + predictions.flatten()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_matrix_loops(predictions, targets, num_classes):  # written differently: loops, floats
    matrix = torch.zeros(num_classes, num_classes)
    for true, predicted in zip(targets.flatten().tolist(), predictions.flatten().tolist()):
        matrix[true, predicted] += 1
    return matrix


def confusion_matrix_numpy(predictions, targets, num_classes):  # scikit-learn itself, as a tensor
    return torch.from_numpy(sklearn_confusion_matrix(targets.flatten(), predictions.flatten(), labels=list(range(num_classes))))


def iou_per_class(confusion):
    confusion = confusion.double()
    diagonal = confusion.diag()
    return diagonal / (confusion.sum(dim=0) + confusion.sum(dim=1) - diagonal)


def mean_iou(confusion):
    return iou_per_class(confusion).nanmean().item()


def iou_per_class_float32(confusion):
    confusion = confusion.float()
    true_positives = torch.diagonal(confusion)
    false_positives = confusion.sum(0) - true_positives
    false_negatives = confusion.sum(1) - true_positives
    return true_positives / (true_positives + false_positives + false_negatives)


def mean_iou_tensor(confusion):
    values = iou_per_class_float32(confusion)
    return values[~values.isnan()].mean()


def up_and_join(deep, skip):
    return torch.cat([F.interpolate(deep, scale_factor=2, mode="nearest"), skip], dim=1)


def up_and_join_repeat(deep, skip):  # written differently: repeat_interleave
    return torch.cat([deep.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3), skip], dim=1)


def up_and_join_size(deep, skip):
    return torch.cat([F.interpolate(deep, size=skip.shape[-2:]), skip], dim=1)


# --- exercise 1 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [confusion_matrix, confusion_matrix_loops, confusion_matrix_numpy])
def test_check_confusion_matrix_passes_right_answers(answer):
    assert checks.check_confusion_matrix(answer) is True


def test_check_confusion_matrix_runs_on_fresh_inputs():
    seen = []
    checks.check_confusion_matrix(lambda p, t, c: seen.append(p.shape) or confusion_matrix(p, t, c))
    checks.check_confusion_matrix(lambda p, t, c: seen.append(p.shape) or confusion_matrix(p, t, c))
    assert len(seen) == 2  # shapes may repeat; the values differ (a hard-coded matrix fails below)
    fixed = confusion_matrix(torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, 3, dtype=torch.long), 5)
    with pytest.raises(ExerciseError):
        checks.check_confusion_matrix(lambda p, t, c: fixed)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda p, t, c: confusion_matrix(p, t, c).T, "transposed"),
        (lambda p, t, c: torch.bincount(t.flatten() * c + p.flatten(), minlength=c * c), "reshape"),
        (lambda p, t, c: torch.bincount(t.flatten() * c + p.flatten()).reshape(-1, c)[:c - 1], "minlength"),
        (lambda p, t, c: confusion_matrix(p[0], t[0], c), "exactly once"),
        (lambda p, t, c: confusion_matrix(p, t, c) + torch.eye(c, dtype=torch.long) - torch.roll(torch.eye(c, dtype=torch.long), 1, 0),
         "some counts are wrong"),
        (lambda p, t, c: np.zeros((c, c)), "tensor"),
        (lambda p, t, c: (_ for _ in ()).throw(NotImplementedError("Your turn: ...")), "NotImplementedError"),
    ],
)
def test_check_confusion_matrix_explains_mistakes(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_confusion_matrix(wrong)


# --- exercise 2 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("per_class, mean", [(iou_per_class, mean_iou), (iou_per_class_float32, mean_iou_tensor)])
def test_check_iou_passes_right_answers(per_class, mean):
    assert checks.check_iou(per_class, mean) is True


def _rows(confusion):
    confusion = confusion.double()
    return confusion.diag() / confusion.sum(1)


@pytest.mark.parametrize(
    "per_class, mean, message",
    [
        (_rows, mean_iou, "recall"),
        (lambda m: m.double().diag() / m.double().sum(0), mean_iou, "precision"),
        (lambda m: m.double().diag() / (m.sum(0) + m.sum(1)).double(), mean_iou, "without subtracting"),
        (lambda m: 2 * m.double().diag() / (m.sum(0) + m.sum(1)).double(), mean_iou, "Dice"),
        (lambda m: iou_per_class(m).nan_to_num(0.0), mean_iou, "should be nan"),
        (lambda m: m.double().diag() / (m.sum(0) + m.sum(1) - m.diag()).double().clamp(min=1), mean_iou, "should be nan"),
        (iou_per_class, lambda m: iou_per_class(m).mean().item(), "nanmean"),
        (iou_per_class, lambda m: iou_per_class(m).nan_to_num(0.0).mean().item(), "absent class"),
        (iou_per_class, lambda m: iou_per_class(m)[1:].nanmean().item(), "background|should be"),
        (lambda m: iou_per_class(m)[1:], mean_iou, "one IoU per class"),
        (lambda m: [0.5] * len(m), mean_iou, "tensor"),
    ],
)
def test_check_iou_explains_mistakes(per_class, mean, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_iou(per_class, mean)


def test_check_iou_background_hint():
    # with the absent class not 0, leaving out the background is named
    for seed in range(20):
        torch.manual_seed(seed)
        try:
            checks.check_iou(iou_per_class, lambda m: iou_per_class(m)[1:].nanmean().item())
        except ExerciseError as error:
            if "background" in str(error):
                return
    pytest.fail("the background hint never appeared")


# --- exercise 3 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [up_and_join, up_and_join_repeat, up_and_join_size])
def test_check_up_and_join_passes_right_answers(answer):
    assert checks.check_up_and_join(answer) is True


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d, s: torch.cat([s, F.interpolate(d, scale_factor=2)], dim=1), "wrong order"),
        (lambda d, s: torch.cat([F.interpolate(d, scale_factor=2, mode="bilinear"), s], dim=1), "bilinear"),
        (lambda d, s: torch.cat([d, s], dim=1), "raised RuntimeError"),
        (lambda d, s: torch.cat([F.interpolate(d, scale_factor=2), s], dim=0), "dim=1"),
        (lambda d, s: F.interpolate(d, scale_factor=2), "shape"),
        (lambda d, s: torch.cat([F.interpolate(d, scale_factor=2), 2 * s], dim=1), "unchanged"),
        (lambda d, s: torch.cat([F.interpolate(d.flip(-1), scale_factor=2), s], dim=1), "upsampled part is wrong"),
    ],
)
def test_check_up_and_join_explains_mistakes(wrong, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_up_and_join(wrong)
