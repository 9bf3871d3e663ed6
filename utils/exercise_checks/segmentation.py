"""Checks for the exercises of ``module2_cnns/solutions/10_image_segmentation.ipynb``.

Every check builds fresh random inputs (masks, confusion matrices, feature maps), computes the
right answer itself (with scikit-learn, torchmetrics or plain PyTorch) and compares, so a
hard-coded answer does not pass; a wrong answer gets an explanation of what went wrong and a
hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sklearn.metrics import confusion_matrix as _sklearn_confusion_matrix

from utils.checks import answer_as_float64, call_answer, expect, fresh_generator, passed

__all__ = ["check_confusion_matrix", "check_iou", "check_up_and_join"]


def _call(function, *args, what: str, hint: str = ""):
    return call_answer(function, *args, what=what, explain_crashes=True, hint=hint)


def _random_masks(generator: torch.Generator, num_classes: int, absent: int | None = None):
    """True masks [n, h, w] and noisy predictions of them: most pixels right, some random."""
    n, h, w = (int(v) for v in torch.randint(2, 6, (3,), generator=generator) * torch.tensor([1, 3, 3]))
    targets = torch.randint(num_classes, (n, h, w), generator=generator)
    predictions = targets.clone()
    noisy = torch.rand(n, h, w, generator=generator) < 0.4
    predictions[noisy] = torch.randint(num_classes, (int(noisy.sum()),), generator=generator)
    if absent is not None:  # a class neither in the truth nor in the prediction
        targets[targets == absent] = (absent + 1) % num_classes
        predictions[predictions == absent] = (absent + 1) % num_classes
    return predictions, targets


# --- exercise 1: the confusion matrix ----------------------------------------------------------

def check_confusion_matrix(confusion_matrix) -> bool:
    """``confusion_matrix(predictions, targets, num_classes)`` equals scikit-learn's (rows = true class)."""
    generator = fresh_generator()
    num_classes = int(torch.randint(4, 9, (), generator=generator))
    predictions, targets = _random_masks(generator, num_classes)
    predictions[predictions == num_classes - 1] = 0  # the last class is never predicted nor true:
    targets[targets == num_classes - 1] = 0  # the matrix must still be num_classes x num_classes
    expected = torch.from_numpy(_sklearn_confusion_matrix(targets.flatten(), predictions.flatten(),
                                                           labels=list(range(num_classes)))).double()
    answer = _call(confusion_matrix, predictions.clone(), targets.clone(), num_classes, what="confusion_matrix",
                   hint="index = targets.flatten() * num_classes + predictions.flatten(), then "
                        "torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes).")
    expect(isinstance(answer, torch.Tensor), f"confusion_matrix should return a tensor, got {type(answer).__name__}.")
    expect(answer.shape != (num_classes * num_classes,),
           f"confusion_matrix returned a flat tensor of {num_classes**2} counts: reshape it to "
           f"({num_classes}, {num_classes}).")
    expect(tuple(answer.shape) == (num_classes, num_classes),
           f"with num_classes={num_classes} the matrix should have shape ({num_classes}, {num_classes}), got "
           f"{tuple(answer.shape)}. If it is smaller, a class that never occurs was left out: pass "
           "minlength=num_classes**2 to torch.bincount.")
    answer = answer_as_float64(answer, "confusion_matrix")
    expect(answer.sum() == targets.numel(),
           f"the counts add up to {answer.sum():.0f}, but there are {targets.numel()} pixels: every pixel "
           "should be counted exactly once (flatten both tensors, including the batch axis).")
    if not torch.equal(answer, expected):
        expect(not torch.equal(answer, expected.T),
               "your matrix is transposed: rows should be the TRUE class and columns the PREDICTED class, "
               "M[i, j] = number of pixels of true class i predicted as j. Use targets * num_classes + predictions.")
        expect(False, "some counts are wrong. M[i, j] should count the pixels whose true class is i and whose "
                      "predicted class is j (compare with sklearn.metrics.confusion_matrix(targets.flatten(), "
                      "predictions.flatten())).")
    return passed("your confusion matrix equals scikit-learn's.")


# --- exercise 2: IoU per class and mean IoU ----------------------------------------------------

def _reference_iou(confusion: torch.Tensor) -> torch.Tensor:
    confusion = confusion.double()
    diagonal = confusion.diag()
    return diagonal / (confusion.sum(0) + confusion.sum(1) - diagonal)


def check_iou(iou_per_class, mean_iou) -> bool:
    """``iou_per_class(confusion)`` [C] (nan for an absent class) and ``mean_iou(confusion)``, the mean
    over the classes present, match torchmetrics' ``MulticlassJaccardIndex``."""
    from torchmetrics.classification import MulticlassJaccardIndex

    generator = fresh_generator()
    num_classes = int(torch.randint(4, 9, (), generator=generator))
    absent = int(torch.randint(num_classes, (), generator=generator))
    predictions, targets = _random_masks(generator, num_classes, absent=absent)
    confusion = torch.bincount(targets.flatten() * num_classes + predictions.flatten(),
                               minlength=num_classes**2).reshape(num_classes, num_classes)
    expected = _reference_iou(confusion)
    library = MulticlassJaccardIndex(num_classes=num_classes, average="none")(predictions.flatten(), targets.flatten())
    present = torch.arange(num_classes) != absent
    assert torch.allclose(expected[present], library.double()[present], atol=1e-6)  # the reference is right

    answer = _call(iou_per_class, confusion.clone(), what="iou_per_class",
                   hint="true positives = confusion.diag(); union = row sums + column sums - diagonal.")
    expect(isinstance(answer, torch.Tensor), f"iou_per_class should return a tensor, got {type(answer).__name__}.")
    expect(tuple(answer.shape) == (num_classes,),
           f"iou_per_class should return one IoU per class, shape ({num_classes},), got {tuple(answer.shape)}.")
    answer = answer_as_float64(answer, "iou_per_class")
    expect(bool(torch.isnan(answer[absent])),
           f"class {absent} occurs neither in the truth nor in the prediction, so its IoU is 0 / 0: it should be "
           f"nan (so that the mean can leave it out), got {answer[absent].item():.4g}. Plain division of float "
           "tensors gives nan there; do not clamp or add an epsilon.")
    if not torch.allclose(answer[present], expected[present], atol=1e-6):
        confusion64 = confusion.double()
        diagonal = confusion64.diag()
        wrong = {
            "recall (true positives / true pixels of the class, the row sum)": diagonal / confusion64.sum(1),
            "precision (true positives / predicted pixels of the class, the column sum)": diagonal / confusion64.sum(0),
            "true positives / (row sum + column sum), without subtracting the diagonal": diagonal / (
                confusion64.sum(0) + confusion64.sum(1)),
            "the Dice score 2 TP / (row sum + column sum)": 2 * diagonal / (confusion64.sum(0) + confusion64.sum(1)),
        }
        for name, values in wrong.items():
            expect(not torch.allclose(answer[present], values[present], atol=1e-6),
                   f"you computed {name}. IoU divides by the union: row sum + column sum - diagonal "
                   "(the diagonal is counted in both sums).")
        expect(False, f"the IoUs are wrong: expected {[round(v, 4) for v in expected.tolist()]}, got "
                      f"{[round(v, 4) for v in answer.tolist()]}. IoU_c = M[c, c] / (sum of row c + sum of column c "
                      "- M[c, c]).")

    mean = _call(mean_iou, confusion.clone(), what="mean_iou", hint="the mean of iou_per_class over the non-nan entries: .nanmean().")
    if isinstance(mean, torch.Tensor):
        expect(mean.numel() == 1, f"mean_iou should return one number, got a tensor of shape {tuple(mean.shape)}.")
        mean = mean.item()
    expect(isinstance(mean, (int, float)), f"mean_iou should return a number, got {type(mean).__name__}.")
    expect(mean == mean, "mean_iou returned nan: the absent class's nan spreads through a plain mean. "
                         "Use .nanmean(), the mean of the non-nan entries.")
    expected_mean = expected[present].mean().item()
    if abs(mean - expected_mean) > 1e-6:
        expect(abs(mean - expected.nan_to_num(0.0).mean().item()) > 1e-6,
               f"you counted the absent class {absent} as IoU 0 and divided by all {num_classes} classes: the mean "
               f"is over the classes present ({num_classes - 1} here), {expected_mean:.4f}. Use .nanmean().")
        expect(abs(mean - expected[present][1:].mean().item()) > 1e-6 or absent == 0,
               "you left out class 0: the standard mean IoU includes the background.")
        expect(False, f"mean_iou should be {expected_mean:.4f} (the mean of the per-class IoUs over the classes "
                      f"present), got {mean:.4f}.")
    return passed(f"per-class IoU and mean IoU match torchmetrics (absent class {absent} left out of the mean).")


# --- exercise 3: the U-Net's skip connection ---------------------------------------------------

def check_up_and_join(up_and_join) -> bool:
    """``up_and_join(deep [B, Cd, h, w], skip [B, Cs, 2h, 2w])`` = the nearest-neighbour upsampled ``deep``
    concatenated with ``skip`` along the channels: ``[B, Cd + Cs, 2h, 2w]``."""
    generator = fresh_generator()
    batch, deep_channels, skip_channels, h, w = (int(v) for v in torch.randint(2, 6, (5,), generator=generator))
    skip_channels += deep_channels  # different channel counts, so a wrong order shows
    deep = torch.randn(batch, deep_channels, h, w, generator=generator)
    skip = torch.randn(batch, skip_channels, 2 * h, 2 * w, generator=generator)
    upsampled = F.interpolate(deep, scale_factor=2, mode="nearest")
    expected = torch.cat([upsampled, skip], dim=1)
    answer = _call(up_and_join, deep.clone(), skip.clone(), what="up_and_join",
                   hint="first F.interpolate(deep, scale_factor=2, mode='nearest'), so that its height and width "
                        "match skip's, then torch.cat([upsampled, skip], dim=1).")
    expect(isinstance(answer, torch.Tensor), f"up_and_join should return a tensor, got {type(answer).__name__}.")
    shape = (batch, deep_channels + skip_channels, 2 * h, 2 * w)
    expect(tuple(answer.shape) != (2 * batch, deep_channels, 2 * h, 2 * w),
           "you concatenated along dim=0, the batch: a skip connection joins along the channels, dim=1.")
    expect(tuple(answer.shape) == shape,
           f"for deep {tuple(deep.shape)} and skip {tuple(skip.shape)} the result should have shape {shape} "
           f"(channels {deep_channels} + {skip_channels}, the skip's height and width), got {tuple(answer.shape)}.")
    answer = answer.detach().to("cpu", torch.float32)
    if not torch.allclose(answer, expected, atol=1e-5):
        expect(not torch.allclose(answer, torch.cat([skip, upsampled], dim=1), atol=1e-5),
               "the right pieces in the wrong order: put the upsampled deep map first, then the skip "
               "(torch.cat([upsampled, skip], dim=1)); the next convolution's weights expect that order.")
        for mode in ("bilinear", "bicubic"):
            other = torch.cat([F.interpolate(deep, scale_factor=2, mode=mode, align_corners=False), skip], dim=1)
            expect(not torch.allclose(answer, other, atol=1e-5),
                   f"you upsampled with mode='{mode}': it works too, but this exercise asks for mode='nearest' "
                   "(each value copied into a 2 x 2 block), as in the lesson.")
        expect(torch.allclose(answer[:, deep_channels:], skip, atol=1e-5),
               "the skip part (the last channels) should be the skip tensor itself, unchanged.")
        expect(False, "the upsampled part is wrong: with nearest-neighbour upsampling by 2, output pixel (y, x) "
                      "takes deep's value at (y // 2, x // 2). Use F.interpolate(deep, scale_factor=2, mode='nearest').")
    return passed(f"{tuple(deep.shape)} upsampled to {tuple(upsampled.shape)} and joined with the skip: "
                  f"{tuple(answer.shape)}.")
