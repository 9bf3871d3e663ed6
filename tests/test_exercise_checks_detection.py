"""Tests of the exercise checks of notebook 09 (object detection): each check passes right
answers, including ones written differently from the solution, and explains typical mistakes."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision import ops

from utils.checks import ExerciseError
from utils.exercise_checks import detection as checks


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)  # the checks draw fresh inputs from torch's global generator: fix them for the tests

# --- right answers (the solution notebook's) -------------------------------------------------------


def xyxy_to_cxcywh(boxes):
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def cxcywh_to_xyxy(boxes):
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def box_iou(boxes1, boxes2):
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    width_height = (bottom_right - top_left).clamp(min=0)
    intersection = width_height[..., 0] * width_height[..., 1]
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    return intersection / (area1[:, None] + area2[None, :] - intersection)


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    keep = []
    while len(order) > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        order = rest[box_iou(boxes[best][None], boxes[rest])[0] <= iou_threshold]
    return torch.stack(keep) if keep else torch.zeros(0, dtype=torch.long)


def grid_targets(box, stride=8, canvas_size=64):
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    row, column = math.floor(cy / stride), math.floor(cx / stride)
    return row, column, cx / stride - column, cy / stride - row, w / canvas_size, h / canvas_size


def average_precision(scores, is_true_positive, num_true):
    if len(scores) == 0:
        return 0.0
    order = scores.argsort(descending=True)
    true_positives = is_true_positive[order].double().cumsum(0)
    precision = true_positives / torch.arange(1, len(order) + 1)
    recall = true_positives / num_true
    envelope = precision.flip(0).cummax(0).values.flip(0)
    levels = torch.linspace(0, 1, 101).double()
    first_reaching = torch.searchsorted(recall, levels)
    reached = first_reaching < len(recall)
    sampled = torch.zeros(len(levels), dtype=torch.float64)
    sampled[reached] = envelope[first_reaching[reached]]
    return sampled.mean().item()


# --- exercise 1 ----------------------------------------------------------------------------------

def test_check_box_conversion_passes_right_answers():
    assert checks.check_box_conversion(xyxy_to_cxcywh, cxcywh_to_xyxy) is True

    def by_columns(boxes):  # written with slicing and cat instead of unbind and stack
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        return torch.cat([centre, boxes[:, 2:] - boxes[:, :2]], dim=1)

    def back_by_columns(boxes):
        return torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], dim=1)

    assert checks.check_box_conversion(by_columns, back_by_columns) is True


def _stack(*columns):
    return torch.stack(columns, dim=-1)


@pytest.mark.parametrize(
    "forward, backward, message",
    [
        (lambda b: _stack(b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), cxcywh_to_xyxy, "that is xywh"),
        (lambda b: _stack(b[:, 0] + b[:, 2], b[:, 1] + b[:, 3], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), cxcywh_to_xyxy,
         "divide x1 \\+ x2 by 2"),
        (lambda b: _stack((b[:, 2] - b[:, 0]) / 2, (b[:, 3] - b[:, 1]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]),
         cxcywh_to_xyxy, "halfway between the corners"),
        (lambda b: _stack((b[:, 1] + b[:, 3]) / 2, (b[:, 0] + b[:, 2]) / 2, b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]),
         cxcywh_to_xyxy, "swapped"),
        (lambda b: _stack((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2], b[:, 3]), cxcywh_to_xyxy,
         "width is x2 - x1"),
        (xyxy_to_cxcywh, lambda b: _stack(b[:, 0] - b[:, 2], b[:, 1] - b[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]),
         "half a width"),
        (xyxy_to_cxcywh, lambda b: _stack(b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]), "not the top-left"),
        (lambda b: ops.box_convert(b, "xyxy", "cxcywh"), cxcywh_to_xyxy, "write the conversion yourself"),
        (lambda b: xyxy_to_cxcywh(b)[:, :2], cxcywh_to_xyxy, "shape"),
        (lambda b: xyxy_to_cxcywh(b).tolist(), cxcywh_to_xyxy, "should return a tensor"),
    ],
)
def test_check_box_conversion_explains_wrong_answers(forward, backward, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_box_conversion(forward, backward)


def test_checks_explain_an_unfinished_exercise():
    def unfinished(*args):
        raise NotImplementedError("Your turn")

    with pytest.raises(ExerciseError, match="still raises NotImplementedError"):
        checks.check_box_conversion(unfinished, cxcywh_to_xyxy)
    with pytest.raises(ExerciseError, match="still raises NotImplementedError"):
        checks.check_average_precision(unfinished)
    with pytest.raises(ExerciseError, match="pass the function itself"):
        checks.check_box_iou(torch.zeros(3, 3))


# --- exercise 2 ----------------------------------------------------------------------------------

def test_check_box_iou_passes_right_answers():
    assert checks.check_box_iou(box_iou) is True

    def with_loops(boxes1, boxes2):  # slow but right
        result = torch.zeros(len(boxes1), len(boxes2))
        for i, a in enumerate(boxes1):
            for j, b in enumerate(boxes2):
                w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
                h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
                inter = w * h
                result[i, j] = inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
        return result

    assert checks.check_box_iou(with_loops) is True


def _iou_variant(clamp=True, subtract=True, product_clamp=False):
    def iou(boxes1, boxes2):
        top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
        bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
        width_height = bottom_right - top_left
        if clamp:
            width_height = width_height.clamp(min=0)
        intersection = width_height[..., 0] * width_height[..., 1]
        if product_clamp:
            intersection = intersection.clamp(min=0)
        area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
        area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
        union = area1[:, None] + area2[None, :] - (intersection if subtract else 0)
        return intersection / union
    return iou


def _iou_over_first_area(boxes1, boxes2):  # intersection over the first box's area: 1 for identical boxes
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    width_height = (bottom_right - top_left).clamp(min=0)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    return width_height[..., 0] * width_height[..., 1] / area1[:, None]


@pytest.mark.parametrize(
    "wrong_iou, message",
    [
        (_iou_variant(clamp=False), "far apart.*clamp each at 0"),
        (_iou_variant(clamp=False, product_clamp=True), "far apart.*clamp each at 0"),
        (_iou_variant(subtract=False), "Subtract the intersection"),
        (lambda a, b: box_iou(a, b).T, "transpose"),
        (lambda a, b: box_iou(a[:len(b)], b[:len(a)]).diagonal(), "box of boxes1 with every box of boxes2"),
        (lambda a, b: ops.box_iou(a, b), "write IoU yourself"),
        (lambda a, b: box_iou(a, b) * 0.9, "itself should have IoU 1"),
        (_iou_over_first_area, r"Hint: intersection = max\(0"),
        (lambda a, b: (box_iou(a, b) > 0.5).long(), "floats"),
    ],
)
def test_check_box_iou_explains_wrong_answers(wrong_iou, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_box_iou(wrong_iou)


def test_check_box_iou_gives_torchvision_back_afterwards():
    with pytest.raises(ExerciseError):
        checks.check_box_iou(lambda a, b: ops.box_iou(a, b))
    assert ops.box_iou(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([[0.0, 0, 1, 1]])).item() == 1.0


# --- exercise 3 ----------------------------------------------------------------------------------

def test_check_nms_passes_right_answers():
    assert checks.check_nms(nms) is True

    def with_a_mask(boxes, scores, iou_threshold):  # a different but right way: a mask of the boxes still alive
        order = scores.argsort(descending=True)
        ious = box_iou(boxes[order], boxes[order])
        alive = torch.ones(len(order), dtype=torch.bool)
        keep = []
        for i in range(len(order)):
            if alive[i]:
                keep.append(int(order[i]))
                alive &= ious[i] <= iou_threshold
        return torch.tensor(keep, dtype=torch.long)

    assert checks.check_nms(with_a_mask) is True


def _nms_suppressing_at_the_threshold(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    keep = []
    while len(order) > 0:
        keep.append(order[0])
        order = order[1:][box_iou(boxes[order[0]][None], boxes[order[1:]])[0] < iou_threshold]
    return torch.stack(keep)


def _nms_where_suppressed_boxes_still_suppress(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    ious = box_iou(boxes[order], boxes[order])
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for i in range(len(order)):
        suppressed[i + 1:] |= ious[i, i + 1:] > iou_threshold  # even if box i itself was suppressed
    return order[~suppressed]


def _nms_ascending(boxes, scores, iou_threshold):
    return nms(boxes, -scores, iou_threshold)


@pytest.mark.parametrize(
    "wrong_nms, message",
    [
        (_nms_suppressing_at_the_threshold, r"\*greater than\*"),
        (_nms_where_suppressed_boxes_still_suppress, "cannot suppress other boxes"),
        (lambda b, s, t: nms(b, s, t).sort().values, "different order"),
        (_nms_ascending, r"(decreasing|increasing\*) score"),
        (lambda b, s, t: torch.zeros(len(b), dtype=torch.bool).index_fill(0, nms(b, s, t), True), "mask"),
        (lambda b, s, t: nms(b, s, t).float(), "integer indices"),
        (lambda b, s, t: ops.nms(b, s, t), "write non-maximum suppression yourself"),
        (lambda b, s, t: nms(b, s, t + 0.15), "Hint: keep the best box"),
    ],
)
def test_check_nms_explains_wrong_answers(wrong_nms, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_nms(wrong_nms)


# --- exercise 4 ----------------------------------------------------------------------------------

def test_check_grid_targets_passes_right_answers():
    assert checks.check_grid_targets(grid_targets) is True

    def with_tensors(box, stride=8, canvas_size=64):
        box = torch.tensor(box)
        centre = (box[:2] + box[2:]) / 2
        cell = torch.div(centre, stride, rounding_mode="floor")
        offsets = centre / stride - cell
        size = (box[2:] - box[:2]) / canvas_size
        return int(cell[1]), int(cell[0]), offsets[0], offsets[1], size[0], size[1]

    assert checks.check_grid_targets(with_tensors) is True


def _grid(row_col="right", tx="right", tw="right", corner=False):
    def targets(box, stride=8, canvas_size=64):
        x1, y1, x2, y2 = box
        cx, cy = (x1, y1) if corner else ((x1 + x2) / 2, (y1 + y2) / 2)
        row, column = math.floor(cy / stride), math.floor(cx / stride)
        t_x, t_y = cx / stride - column, cy / stride - row
        if tx == "pixels":
            t_x, t_y = cx - column * stride, cy - row * stride
        t_w, t_h = (x2 - x1) / canvas_size, (y2 - y1) / canvas_size
        if tw == "cell":
            t_w, t_h = (x2 - x1) / stride, (y2 - y1) / stride
        if row_col == "swapped":
            row, column = column, row
        return row, column, t_x, t_y, t_w, t_h
    return targets


@pytest.mark.parametrize(
    "wrong_targets, message",
    [
        (_grid(row_col="swapped"), "swapped"),
        (_grid(corner=True), "top-left corner"),
        (_grid(tx="pixels"), "cell units"),
        (_grid(tw="cell"), "fraction of the \\*canvas\\*"),
        (lambda box, stride, size: grid_targets(box, stride, size)[:4], "six things"),
        (lambda box, stride, size: (*grid_targets(box, stride, size)[:5], "h"), "should be a number"),
    ],
)
def test_check_grid_targets_explains_wrong_answers(wrong_targets, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_grid_targets(wrong_targets)


# --- exercise 5 ----------------------------------------------------------------------------------

def test_check_average_precision_passes_right_answers():
    assert checks.check_average_precision(average_precision) is True

    def with_a_loop(scores, is_true_positive, num_true):  # the interpolated precision level by level
        order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
        hits = [bool(is_true_positive[i]) for i in order]
        precision, recall, found = [], [], 0
        for k, hit in enumerate(hits, start=1):
            found += hit
            precision.append(found / k)
            recall.append(found / num_true)
        total = 0.0
        for level in torch.linspace(0, 1, 101).tolist():
            reachable = [p for p, r in zip(precision, recall) if r >= level]
            total += max(reachable) if reachable else 0.0
        return total / 101

    assert checks.check_average_precision(with_a_loop) is True


def _ap_variant(envelope=True, descending=True, beyond="zero", divide_by="num_true", levels=101):
    def ap(scores, is_true_positive, num_true):
        if len(scores) == 0:
            return 0.0
        order = scores.argsort(descending=descending)
        tp = is_true_positive[order].double().cumsum(0)
        precision = tp / torch.arange(1, len(order) + 1)
        recall = tp / (num_true if divide_by == "num_true" else max(tp[-1].item(), 1))
        curve = precision.flip(0).cummax(0).values.flip(0) if envelope else precision
        if levels == "all":
            return float((torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64)) * curve).sum())
        first = torch.searchsorted(recall, torch.linspace(0, 1, levels).double())
        past = curve[-1] if beyond == "last" else 0.0
        return torch.where(first < len(recall), curve[first.clamp(max=len(recall) - 1)], past).mean().item()
    return ap


@pytest.mark.parametrize(
    "wrong_ap, message",
    [
        (_ap_variant(levels="all"), "the all-point AP"),
        (_ap_variant(envelope=False), "use the envelope"),
        (_ap_variant(beyond="last"), "get precision 0"),
        (_ap_variant(descending=False), r"\*decreasing\* score"),
        (_ap_variant(divide_by="true positives"), "number of \\*true boxes\\*"),
        (_ap_variant(levels=51), "Hint: sort by score"),
        (lambda s, t, n: torch.tensor([0.5, 0.5]), "one number"),
        (lambda s, t, n: "0.5", "should return a number"),
    ],
)
def test_check_average_precision_explains_wrong_answers(wrong_ap, message):
    with pytest.raises(ExerciseError, match=message):
        checks.check_average_precision(wrong_ap)


def test_check_average_precision_wants_zero_without_detections():
    def nan_without_detections(scores, is_true_positive, num_true):
        return float("nan") if len(scores) == 0 else average_precision(scores, is_true_positive, num_true)

    with pytest.raises(ExerciseError, match="no detections has AP 0"):
        checks.check_average_precision(nan_without_detections)


def test_checks_are_fast():
    import time

    start = time.perf_counter()
    checks.check_box_conversion(xyxy_to_cxcywh, cxcywh_to_xyxy)
    checks.check_box_iou(box_iou)
    checks.check_nms(nms)
    checks.check_grid_targets(grid_targets)
    checks.check_average_precision(average_precision)
    assert time.perf_counter() - start < 5
