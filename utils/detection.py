"""Mean average precision (mAP) for object detection, COCO-style, in a few plain functions.

Notebook ``module2_cnns/09_object_detection.ipynb`` builds this computation step by step;
this is the compact version it checks itself against, and that
``tests/test_detection_map.py`` checks against ``torchmetrics`` (pycocotools). The rules
are those of the COCO evaluation (pycocotools ``COCOeval``), at one IoU threshold:

1. per image and class, detections are taken in order of decreasing score (at most
   ``max_detections`` of them); each is matched to the not yet matched ground-truth box of
   its class with the highest IoU, if that IoU is ``>= iou_threshold`` (a true positive), and
   is otherwise a false positive;
2. per class, the detections of all images are sorted by score, and the running counts of
   true and false positives give a precision and a recall after every detection;
3. the precision is made monotone (at each recall, the best precision at that recall or any
   higher one) and averaged over 101 recall levels 0, 0.01, ..., 1 (``interpolation="101"``,
   COCO), or integrated over recall (``"all"``, all-point, PASCAL VOC 2010 and later);
4. mAP is the mean of the per-class APs over the classes that have ground-truth boxes.

Inputs use torchvision's and torchmetrics' format: ``predictions`` is a list (one entry per
image) of dicts with ``"boxes"`` float ``[n, 4]`` (``xyxy``), ``"scores"`` float ``[n]`` and
``"labels"`` int ``[n]``; ``targets`` a list of dicts with ``"boxes"`` and ``"labels"``.
IoU comes from ``torchvision.ops.box_iou`` (the notebook writes its own and checks it against it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torchvision.ops import box_iou

__all__ = ["RECALL_LEVELS", "match_detections", "precision_recall", "average_precision", "mean_average_precision"]

#: The 101 recall levels 0, 0.01, ..., 1 of COCO's interpolated AP. They are made exactly as
#: torchmetrics makes them (``torch.linspace`` in float32): pycocotools' own default
#: (``np.linspace`` in float64) differs in the last bits, which changes an AP only when a
#: recall falls exactly on a level.
RECALL_LEVELS = torch.linspace(0.0, 1.0, 101).to(torch.float64)

INTERPOLATIONS = ("101", "all")


def _check_boxes(boxes, where: str) -> torch.Tensor:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{where} must be a tensor [n, 4] of (x1, y1, x2, y2), got {type(boxes).__name__}")
    boxes = boxes.detach().to("cpu", torch.float64)
    if boxes.numel() == 0:
        boxes = boxes.reshape(0, 4)  # an image without boxes may come as shape [0]
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{where} must have shape [n, 4] (x1, y1, x2, y2), got {tuple(boxes.shape)}")
    return boxes


def match_detections(boxes: torch.Tensor, scores: torch.Tensor, true_boxes: torch.Tensor,
                     iou_threshold: float = 0.5) -> torch.Tensor:
    """Which detections of ONE class in ONE image are true positives (bool ``[n]``, in input order).

    Detections are visited in order of decreasing score (ties: in input order). Each takes the
    unmatched ground-truth box with the highest IoU, if that IoU is at least ``iou_threshold``.
    A ground-truth box can be matched once: a second detection of the same object is a false
    positive (a duplicate).
    """
    boxes, true_boxes = _check_boxes(boxes, "boxes"), _check_boxes(true_boxes, "true_boxes")
    scores = torch.as_tensor(scores).detach().to("cpu", torch.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"got {len(boxes)} boxes but {len(scores)} scores")
    is_true_positive = torch.zeros(len(boxes), dtype=torch.bool)
    if len(boxes) == 0 or len(true_boxes) == 0:
        return is_true_positive
    ious = box_iou(boxes, true_boxes)
    matched = torch.zeros(len(true_boxes), dtype=torch.bool)
    for detection in torch.sort(scores, descending=True, stable=True).indices.tolist():
        candidate_ious = ious[detection].masked_fill(matched, -1.0)
        best = int(candidate_ious.argmax())
        if candidate_ious[best] >= iou_threshold:
            matched[best] = True
            is_true_positive[detection] = True
    return is_true_positive


def precision_recall(scores: torch.Tensor, is_true_positive: torch.Tensor,
                     num_ground_truth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision and recall (float64 ``[n]``) after each detection, in order of decreasing score.

    ``scores`` and ``is_true_positive`` (bool ``[n]``) list one class's detections over all
    images; ``num_ground_truth`` is how many ground-truth boxes that class has (at least 1).
    """
    scores = torch.as_tensor(scores).detach().to("cpu", torch.float64).reshape(-1)
    is_true_positive = torch.as_tensor(is_true_positive).detach().to("cpu").reshape(-1).bool()
    if len(scores) != len(is_true_positive):
        raise ValueError(f"got {len(scores)} scores but {len(is_true_positive)} true-positive flags")
    if isinstance(num_ground_truth, bool) or int(num_ground_truth) != num_ground_truth or num_ground_truth < 1:
        raise ValueError(f"num_ground_truth must be a whole number >= 1 (AP is undefined for a class with no "
                         f"ground-truth boxes), got {num_ground_truth!r}")
    if int(is_true_positive.sum()) > num_ground_truth:
        raise ValueError(f"{int(is_true_positive.sum())} true positives but only {num_ground_truth} ground-truth "
                         "boxes: each box can be matched once")
    order = torch.sort(scores, descending=True, stable=True).indices
    true_positives = is_true_positive[order].to(torch.float64).cumsum(0)
    false_positives = (~is_true_positive[order]).to(torch.float64).cumsum(0)
    return true_positives / (true_positives + false_positives), true_positives / num_ground_truth


def average_precision(scores: torch.Tensor, is_true_positive: torch.Tensor, num_ground_truth: int,
                      interpolation: str = "101") -> float:
    """AP of one class from its scored detections (see :func:`precision_recall`).

    ``interpolation="101"`` (COCO): the mean, over the recall levels 0, 0.01, ..., 1, of the best
    precision at that recall or higher (0 beyond the highest recall reached). ``"all"``
    (all-point, PASCAL VOC 2010+): the area under that monotone precision-recall curve.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    precision, recall = precision_recall(scores, is_true_positive, num_ground_truth)
    if len(precision) == 0:
        return 0.0
    envelope = precision.flip(0).cummax(0).values.flip(0)  # best precision at this recall or higher
    if interpolation == "101":
        where = torch.searchsorted(recall, RECALL_LEVELS, side="left")  # first point reaching each level
        reached = where < len(recall)
        sampled = torch.zeros_like(RECALL_LEVELS)
        sampled[reached] = envelope[where[reached]]
        return float(sampled.mean())
    recall_steps = torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64))
    return float((recall_steps * envelope).sum())


def _check_entries(entries, name: str, keys: tuple[str, ...]) -> None:
    if not isinstance(entries, Sequence) or isinstance(entries, (str, bytes)):
        raise TypeError(f"{name} must be a list with one dict per image, got {type(entries).__name__}")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or any(key not in entry for key in keys):
            raise ValueError(f"{name}[{index}] must be a dict with keys {keys}, got "
                             f"{sorted(entry) if isinstance(entry, Mapping) else type(entry).__name__}")
        lengths = {key: len(torch.as_tensor(entry[key]).reshape(-1, 4) if key == "boxes"
                            else torch.as_tensor(entry[key]).reshape(-1)) for key in keys}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"{name}[{index}]: the entries must have one row per box, got lengths {lengths}")


def mean_average_precision(predictions: Sequence[Mapping[str, torch.Tensor]],
                           targets: Sequence[Mapping[str, torch.Tensor]], *, iou_threshold: float = 0.5,
                           interpolation: str = "101", max_detections: int = 100) -> dict:
    """mAP at one IoU threshold, COCO rules (see the module docstring).

    Returns ``{"map": float, "ap_per_class": {class: AP}}``, over the classes that have at least
    one ground-truth box (classes only ever predicted are left out, as in COCO). ``map`` is NaN
    if no class has a ground-truth box. ``max_detections`` caps the detections per image and
    class (the top-scoring ones count), as COCO's ``maxDets``.
    """
    _check_entries(predictions, "predictions", ("boxes", "scores", "labels"))
    _check_entries(targets, "targets", ("boxes", "labels"))
    if len(predictions) != len(targets):
        raise ValueError(f"got predictions for {len(predictions)} images but targets for {len(targets)}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if isinstance(max_detections, bool) or not isinstance(max_detections, int) or max_detections < 1:
        raise ValueError(f"max_detections must be an int >= 1, got {max_detections!r}")
    true_labels = [torch.as_tensor(t["labels"]).detach().cpu().reshape(-1).long() for t in targets]
    predicted_labels = [torch.as_tensor(p["labels"]).detach().cpu().reshape(-1).long() for p in predictions]
    classes = torch.cat(true_labels).unique().tolist() if true_labels else []

    ap_per_class = {}
    for cls in classes:
        scores, flags, num_ground_truth = [], [], 0
        for prediction, target, p_labels, t_labels in zip(predictions, targets, predicted_labels, true_labels):
            true_boxes = _check_boxes(target["boxes"], "target boxes")[t_labels == cls]
            boxes = _check_boxes(prediction["boxes"], "predicted boxes")[p_labels == cls]
            class_scores = torch.as_tensor(prediction["scores"]).detach().cpu().reshape(-1).double()[p_labels == cls]
            top = torch.sort(class_scores, descending=True, stable=True).indices[:max_detections]
            scores.append(class_scores[top])
            flags.append(match_detections(boxes[top], class_scores[top], true_boxes, iou_threshold))
            num_ground_truth += len(true_boxes)
        ap_per_class[cls] = average_precision(torch.cat(scores), torch.cat(flags), num_ground_truth, interpolation)
    mean = sum(ap_per_class.values()) / len(ap_per_class) if ap_per_class else float("nan")
    return {"map": mean, "ap_per_class": ap_per_class}
