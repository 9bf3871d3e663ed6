"""Checks for the exercises of ``module2_cnns/solutions/09_object_detection.ipynb``.

Every check builds fresh random inputs (boxes, scores, rankings), computes the right
answer itself (with torchvision's box operations or ``utils.detection``) and compares,
so a hard-coded answer does not pass; a wrong answer gets an explanation of what went
wrong and a hint (``utils.checks.ExerciseError``).
"""

from __future__ import annotations

import math
import numbers

import torch
import torchvision
from torchvision import ops

from utils.checks import (
    call_answer,
    expect,
    fresh_generator,
    library_refused,
    passed,
)
from utils.detection import average_precision as _reference_average_precision

__all__ = [
    "check_box_conversion",
    "check_box_iou",
    "check_nms",
    "check_grid_targets",
    "check_average_precision",
]


# --- helpers -----------------------------------------------------------------------------------

def _call(function, *args, what: str, hint: str = ""):
    """Call the learner's function; turn NotImplementedError and crashes into one short explanation."""
    return call_answer(function, *args, what=what, explain_crashes=True, hint=hint)


def _as_tensor(value, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The learner's answer as a float64 CPU tensor of the given shape, or an ExerciseError."""
    expect(isinstance(value, torch.Tensor), f"{what} should return a tensor, got {type(value).__name__}.")
    expect(tuple(value.shape) == shape, f"{what} should return shape {shape}, got {tuple(value.shape)}.")
    expect(value.is_floating_point(), f"{what} should return floats, got dtype {value.dtype}.")
    return value.detach().to("cpu", torch.float64)


def _random_boxes(count: int, generator: torch.Generator, max_xy: float = 60.0, max_size: float = 30.0) -> torch.Tensor:
    corners = torch.rand(count, 2, generator=generator) * max_xy
    sizes = 1 + torch.rand(count, 2, generator=generator) * max_size
    return torch.cat([corners, corners + sizes], dim=1)


def _clustered_boxes(count: int, generator: torch.Generator, clusters: int = 6):
    centres = _random_boxes(clusters, generator)
    which = torch.randint(clusters, (count,), generator=generator)
    sizes = (centres[which, 2:] - centres[which, :2]).repeat(1, 2)
    boxes = centres[which] + (torch.rand(count, 4, generator=generator) - 0.5) * 0.6 * sizes
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)
    return boxes, torch.rand(count, generator=generator)


def _no_library(names: tuple[str, ...], what: str):
    """While active, torchvision.ops' functions ``names`` raise an ExerciseError."""
    return library_refused([(owner, name) for owner in (ops, torchvision.ops.boxes) for name in names],
                           f"write {what} yourself, from tensor operations: calling torchvision.ops."
                           f"{'/'.join(names)} is what the exercise replaces.")


def _box_text(box) -> str:
    return "(" + ", ".join(f"{v:g}" for v in box.tolist()) + ")"


# --- exercise 1: box formats -------------------------------------------------------------------

def check_box_conversion(xyxy_to_cxcywh, cxcywh_to_xyxy) -> bool:
    """``xyxy_to_cxcywh`` and ``cxcywh_to_xyxy`` match ``torchvision.ops.box_convert`` on [N, 4] boxes."""
    generator = fresh_generator()
    boxes = _random_boxes(int(torch.randint(5, 30, (), generator=generator)), generator)
    n = len(boxes)
    with _no_library(("box_convert",), "the conversion"):
        converted = _as_tensor(_call(xyxy_to_cxcywh, boxes.clone(), what="xyxy_to_cxcywh",
                                     hint="`x1, y1, x2, y2 = boxes.unbind(-1)`, then `torch.stack([...], dim=-1)`."),
                               "xyxy_to_cxcywh", (n, 4))
    expected = ops.box_convert(boxes, "xyxy", "cxcywh").double()
    if not torch.allclose(converted, expected, atol=1e-4):
        wrong = int((converted - expected).abs().amax(dim=1).argmax())
        case = (f"the box {_box_text(boxes[wrong])} (x1, y1, x2, y2) is {_box_text(expected[wrong])} in cxcywh, "
                f"but yours gave {_box_text(converted[wrong])}")
        x1, y1, x2, y2 = boxes.double().unbind(-1)
        expect(not torch.allclose(converted, torch.stack([x1, y1, x2 - x1, y2 - y1], -1), atol=1e-4),
               f"{case}: that is xywh (the top-left corner). cxcywh starts with the centre, ((x1 + x2)/2, (y1 + y2)/2).")
        expect(not torch.allclose(converted[:, :2], torch.stack([x1 + x2, y1 + y2], -1), atol=1e-4),
               f"{case}: the centre is the *mean* of the two corners: divide x1 + x2 by 2.")
        expect(not torch.allclose(converted[:, :2], torch.stack([(x2 - x1) / 2, (y2 - y1) / 2], -1), atol=1e-4),
               f"{case}: the centre is (x1 + x2)/2, halfway between the corners, not (x2 - x1)/2, half the width.")
        expect(not torch.allclose(converted, torch.stack([y1 + y2, x1 + x2, y2 - y1, x2 - x1], -1) / torch.tensor(
                   [2.0, 2.0, 1.0, 1.0], dtype=torch.float64), atol=1e-4),
               f"{case}: x and y are swapped. The order is (cx, cy, w, h), x first.")
        expect(torch.allclose(converted[:, 2:], expected[:, 2:], atol=1e-4),
               f"{case}: the width is x2 - x1 and the height y2 - y1.")
        expect(False, f"{case}. Hint: cx = (x1 + x2)/2, cy = (y1 + y2)/2, w = x2 - x1, h = y2 - y1.")
    centre_boxes = ops.box_convert(boxes, "xyxy", "cxcywh")
    with _no_library(("box_convert",), "the conversion"):
        back = _as_tensor(_call(cxcywh_to_xyxy, centre_boxes.clone(), what="cxcywh_to_xyxy"), "cxcywh_to_xyxy", (n, 4))
    if not torch.allclose(back, boxes.double(), atol=1e-4):
        wrong = int((back - boxes).abs().amax(dim=1).argmax())
        case = (f"the box {_box_text(centre_boxes[wrong])} (cx, cy, w, h) is {_box_text(boxes[wrong])} in xyxy, "
                f"but yours gave {_box_text(back[wrong])}")
        cx, cy, w, h = centre_boxes.double().unbind(-1)
        expect(not torch.allclose(back, torch.stack([cx - w, cy - h, cx + w, cy + h], -1), atol=1e-4),
               f"{case}: the corners are half a width from the centre: cx - w/2 and cx + w/2.")
        expect(not torch.allclose(back, torch.stack([cx, cy, cx + w, cy + h], -1), atol=1e-4),
               f"{case}: (cx, cy) is the centre, not the top-left corner: x1 = cx - w/2.")
        expect(False, f"{case}. Hint: x1 = cx - w/2, y1 = cy - h/2, x2 = cx + w/2, y2 = cy + h/2.")
    with _no_library(("box_convert",), "the conversion"):
        round_trip = _call(cxcywh_to_xyxy, _call(xyxy_to_cxcywh, boxes, what="xyxy_to_cxcywh"), what="cxcywh_to_xyxy")
    expect(torch.allclose(round_trip.double(), boxes.double(), atol=1e-4), "the round trip xyxy -> cxcywh -> xyxy "
                                                                          "should give back the boxes.")
    return passed("both conversions match torchvision.ops.box_convert, and they undo each other.")


# --- exercise 2: IoU ---------------------------------------------------------------------------

def check_box_iou(box_iou) -> bool:
    """``box_iou(boxes1 [N, 4], boxes2 [M, 4])`` (xyxy) is the [N, M] matrix of ``torchvision.ops.box_iou``."""
    generator = fresh_generator()
    n = int(torch.randint(3, 10, (), generator=generator))
    m = n + int(torch.randint(1, 5, (), generator=generator))  # N != M, so a transposed answer shows
    boxes1 = _random_boxes(n, generator)
    boxes2 = torch.cat([_random_boxes(m - 2, generator), boxes1[:1].clone(),  # an identical box
                        boxes1[1:2] + torch.tensor([200.0, 200, 200, 200])])  # one far away from everything
    with _no_library(("box_iou", "box_area", "_box_inter_union"), "IoU"):
        iou = _call(box_iou, boxes1.clone(), boxes2.clone(), what="box_iou",
                    hint="`boxes1[:, None, :2]` [N, 1, 2] against `boxes2[None, :, :2]` [1, M, 2] broadcasts to [N, M, 2].")
    expect(isinstance(iou, torch.Tensor), f"box_iou should return a tensor, got {type(iou).__name__}.")
    expect(tuple(iou.shape) != (min(n, m),) and tuple(iou.shape) != (n,),
           f"box_iou returned shape {tuple(iou.shape)}: one IoU per row, pairing box i with box i only. It should "
           f"compare *every* box of boxes1 with every box of boxes2, shape ({n}, {m}): broadcast with `[:, None]` "
           "and `[None, :]`.")
    expect(tuple(iou.shape) != (m, n), f"box_iou returned shape {(m, n)}, the transpose: rows should be boxes1 "
                                       f"({n} boxes), columns boxes2 ({m} boxes).")
    iou = _as_tensor(iou, "box_iou", (n, m))
    expected = ops.box_iou(boxes1.double(), boxes2.double())
    if torch.allclose(iou, expected, atol=1e-5):
        return passed(f"your IoU matrix ({n} x {m}) matches torchvision.ops.box_iou.")
    far = iou[1, m - 1].item()
    expect(abs(far) < 1e-9, f"two boxes far apart (no overlap at all) got IoU {far:.3g}, not 0. For boxes that do not "
                            "overlap, the intersection's width and height are negative, and their product is positive: "
                            "clamp each at 0 before multiplying, `.clamp(min=0)`.")
    expect(not bool((iou < -1e-9).any()), "some IoUs are negative: for boxes that do not overlap, max(x1) > min(x2), "
                                          "so the intersection's width is negative. Clamp it at 0: `.clamp(min=0)`.")
    same = iou[0, m - 2].item()
    expect(not math.isclose(same, 0.5, abs_tol=1e-4), f"a box compared with itself got IoU {same:.3f}, not 1: the union "
                                                      "is area(A) + area(B) - intersection. Subtract the intersection, "
                                                      "which the two areas both count.")
    expect(math.isclose(same, 1.0, abs_tol=1e-4), f"a box compared with itself should have IoU 1, got {same:.4g}.")
    i, j = (int(v) for v in divmod(int((iou - expected).abs().argmax()), m))
    expect(False, f"the IoU of {_box_text(boxes1[i])} and {_box_text(boxes2[j])} is {expected[i, j]:.4f}, but yours "
                  f"gave {iou[i, j]:.4f}. Hint: intersection = max(0, min(x2) - max(x1)) * max(0, min(y2) - max(y1)), "
                  "and IoU = intersection / (area1 + area2 - intersection).")


# --- exercise 3: NMS ---------------------------------------------------------------------------

def _kept_indices(value, what: str, count: int) -> list[int]:
    expect(isinstance(value, (torch.Tensor, list, tuple)),
           f"{what} should return the kept indices as a tensor, got {type(value).__name__}.")
    indices = torch.as_tensor(value)
    expect(indices.dtype != torch.bool, f"{what} returned a True/False mask of {len(indices)} entries; return the "
                                        "*indices* of the kept boxes instead (torch.tensor(keep), or mask.nonzero()), "
                                        "best score first.")
    expect(not indices.is_floating_point(), f"{what} should return integer indices, got dtype {indices.dtype}.")
    expect(indices.dim() == 1, f"{what} should return a 1-D tensor of indices, got shape {tuple(indices.shape)}.")
    values = indices.tolist()
    expect(all(0 <= v < count for v in values), f"{what} returned indices outside 0..{count - 1}: return positions in "
                                                "the boxes you were given, not in the sorted order.")
    return values


def check_nms(nms) -> bool:
    """``nms(boxes, scores, iou_threshold)`` returns the same indices as ``torchvision.ops.nms``, best score first."""
    generator = fresh_generator()
    # an IoU exactly at the threshold: torchvision keeps both boxes (it suppresses only IoU > threshold)
    tie_boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0], [30.0, 30.0, 40.0, 40.0]])
    tie_scores = torch.tensor([0.9, 0.8, 0.7])
    cases = [(tie_boxes, tie_scores, 0.5)]
    for threshold in (0.3, 0.5, 0.7):
        boxes, scores = _clustered_boxes(int(torch.randint(40, 80, (), generator=generator)), generator)
        cases.append((boxes, scores, threshold))
    for boxes, scores, threshold in cases:
        with _no_library(("nms", "batched_nms"), "non-maximum suppression"):
            kept = _call(nms, boxes.clone(), scores.clone(), threshold, what="nms",
                         hint="sort with `scores.argsort(descending=True)`, then loop while boxes are left.")
        kept = _kept_indices(kept, "nms", len(boxes))
        expected = ops.nms(boxes, scores, threshold).tolist()
        if kept == expected:
            continue
        case = f"with {len(boxes)} boxes and iou_threshold={threshold}, torchvision keeps {len(expected)} boxes"
        expect(not (boxes is tie_boxes and kept == [0, 2]),
               "two boxes with IoU exactly 0.5 at iou_threshold=0.5 should both be kept: suppress a box only when its "
               "IoU with a kept box is *greater than* the threshold (`overlap <= iou_threshold` survives).")
        if sorted(kept) == sorted(expected):
            increasing = all(scores[a] <= scores[b] for a, b in zip(kept, kept[1:]))
            expect(not increasing, f"{case}, and you keep the same ones, but in order of *increasing* score: sort "
                                   "with `descending=True` and return the kept boxes best score first.")
            expect(False, f"{case}, and you keep the same ones, but in a different order: return them best score "
                          "first, in the order you kept them.")
        expect(not set(kept) < set(expected), f"{case}; you keep only {len(kept)} of them. A box suppressed by a kept "
                                              "box must leave the list: it cannot suppress other boxes itself.")
        expect(len(kept) == 0 or kept[0] == expected[0],
               f"{case}. Your first kept box is {kept[0]}, but the highest-scoring box ({expected[0]}) is always kept: "
               "sort by decreasing score (`descending=True`).")
        expect(False, f"{case} ({expected[:8]}{'…' if len(expected) > 8 else ''}), yours keeps {len(kept)} "
                      f"({kept[:8]}{'…' if len(kept) > 8 else ''}). Hint: keep the best box left, drop every box whose "
                      "IoU with it is > iou_threshold, repeat.")
    return passed("your NMS keeps exactly the boxes torchvision.ops.nms keeps, in the same order.")


# --- exercise 4: the grid cell and targets of a box --------------------------------------------

def _grid_targets(box, stride, canvas_size):
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    row, column = math.floor(cy / stride), math.floor(cx / stride)
    return row, column, cx / stride - column, cy / stride - row, w / canvas_size, h / canvas_size


def check_grid_targets(grid_targets) -> bool:
    """``grid_targets(box, stride, canvas_size)`` gives (row, column, tx, ty, tw, th) of one xyxy box."""
    generator = fresh_generator()
    names = ("row", "column", "tx", "ty", "tw", "th")
    for _ in range(20):
        stride = [4, 8, 16][int(torch.randint(3, (), generator=generator))]
        canvas_size = stride * int(torch.randint(4, 12, (), generator=generator))
        size = 2 + torch.rand(2, generator=generator) * (canvas_size / 3)
        corner = torch.rand(2, generator=generator) * (canvas_size - size)
        box = [round(v, 2) for v in torch.cat([corner, corner + size]).tolist()]
        answer = _call(grid_targets, list(box), stride, canvas_size, what="grid_targets")
        expect(isinstance(answer, (tuple, list)) and len(answer) == 6,
               f"grid_targets should return six things, (row, column, tx, ty, tw, th), got {answer!r}.")
        values = []
        for name, value in zip(names, answer):
            if isinstance(value, torch.Tensor):
                expect(value.numel() == 1, f"{name} should be one number, got a tensor of shape {tuple(value.shape)}.")
                value = value.item()
            expect(isinstance(value, numbers.Real), f"{name} should be a number, got {type(value).__name__}.")
            values.append(float(value))
        expected = _grid_targets(box, stride, canvas_size)
        if all(math.isclose(v, e, abs_tol=1e-4) for v, e in zip(values, expected)):
            continue
        case = f"for the box {tuple(box)} with stride {stride} on a {canvas_size}-pixel canvas"
        row, column, tx, ty, tw, th = expected
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        expect((values[0], values[1]) != (column, row) or row == column,
               f"{case}: row and column are swapped. The row comes from the y coordinate (down), the column from x.")
        corner_row, corner_column = math.floor(box[1] / stride), math.floor(box[0] / stride)
        corner = (corner_row, corner_column, box[0] / stride - corner_column, box[1] / stride - corner_row)
        expect(not all(math.isclose(v, c, abs_tol=1e-4) for v, c in zip(values[:4], corner)),
               f"{case}: you placed the top-left corner ({box[0]:g}, {box[1]:g}) in the grid. The responsible cell is "
               f"the one holding the box's centre ({cx:g}, {cy:g}), and tx, ty locate the centre inside it.")
        expect(values[0] == row and values[1] == column,
               f"{case}, the centre ({cx:g}, {cy:g}) lies in row {row}, column {column} "
               f"(floor(cy / stride), floor(cx / stride)); yours gave ({values[0]:g}, {values[1]:g}). "
               "Use the centre, not a corner, and round down.")
        expect(not math.isclose(values[2], cx - column * stride, abs_tol=1e-4),
               f"{case}: tx should be in cell units, in [0, 1): (cx - column * stride) / stride = {tx:.4f}.")
        expect(math.isclose(values[2], tx, abs_tol=1e-4) and math.isclose(values[3], ty, abs_tol=1e-4),
               f"{case}: the centre's place inside its cell is tx = cx/stride - column = {tx:.4f}, "
               f"ty = cy/stride - row = {ty:.4f}; yours gave {values[2]:.4f}, {values[3]:.4f}.")
        expect(not (math.isclose(values[4], tw * canvas_size / stride, abs_tol=1e-4)),
               f"{case}: tw is the width as a fraction of the *canvas*, w / canvas_size = {tw:.4f}, not of the cell.")
        expect(False, f"{case}: tw = w / canvas_size = {tw:.4f} and th = h / canvas_size = {th:.4f}; yours gave "
                      f"{values[4]:.4f}, {values[5]:.4f}.")
    return passed("you can turn any box into its grid cell and the four box targets.")


# --- exercise 5: average precision -------------------------------------------------------------

def _ap_mistakes(scores: torch.Tensor, hits: torch.Tensor, num_true: int) -> dict[str, float]:
    """The AP that each typical mistake gives, keyed by its explanation."""
    count = len(scores)
    order = scores.argsort(descending=True)
    true_positives = hits[order].double().cumsum(0)
    precision = true_positives / torch.arange(1, count + 1)
    envelope = precision.flip(0).cummax(0).values.flip(0)
    first = torch.searchsorted(true_positives / num_true, torch.linspace(0, 1, 101).double())

    def sampled(curve, beyond):  # the mean of curve at the first point reaching each level, `beyond` past the end
        return torch.where(first < count, curve[first.clamp(max=count - 1)], beyond).mean().item()

    return {
        "that is the all-point AP (the area under the envelope). Sample the envelope at the 101 recall levels "
        "torch.linspace(0, 1, 101) instead, and average those 101 values.":
            _reference_average_precision(scores, hits, num_true, interpolation="all"),
        "use the envelope, the best precision at this recall *or any higher one* "
        "(`precision.flip(0).cummax(0).values.flip(0)`), not the precision at the first point reaching each level.":
            sampled(precision, 0.0),
        "recall levels beyond the highest recall the detections reach get precision 0, not the last precision.":
            sampled(envelope, envelope[-1].item()),
        "rank the detections by *decreasing* score (`argsort(descending=True)`).":
            _reference_average_precision(-scores, hits, num_true),
        "recall divides by the number of *true boxes* (num_true), not by the number of true positives.":
            _reference_average_precision(scores, hits, max(int(hits.sum()), 1)),
    }


def check_average_precision(average_precision) -> bool:
    """``average_precision(scores, is_true_positive, num_true)`` is COCO's 101-point AP of one class."""
    generator = fresh_generator()
    trials = []
    for trial in range(12):
        num_true = [7, 11, 13, 17, 19, 23][trial % 6]  # no recall k/num_true lands exactly on a level below 1
        count = int(torch.randint(5, 40, (), generator=generator))
        hits = torch.rand(count, generator=generator) < 0.3 + 0.6 * torch.rand((), generator=generator)
        hits[torch.nonzero(hits).flatten()[num_true:]] = False  # at most num_true true positives
        scores = torch.rand(count, generator=generator)
        if trial == 0:  # an easy one first, in order: everything right at the top, then wrong ones
            scores = torch.linspace(0.99, 0.1, count)
            hits = torch.arange(count) < min(num_true, count // 2)
        value = _call(average_precision, scores.clone(), hits.clone(), num_true, what="average_precision")
        if isinstance(value, torch.Tensor):
            expect(value.numel() == 1, f"average_precision should return one number, got shape {tuple(value.shape)}.")
            value = value.item()
        expect(isinstance(value, numbers.Real), f"average_precision should return a number, got {type(value).__name__}.")
        trials.append((scores, hits, num_true, float(value)))
    expected = [_reference_average_precision(s, h, n, interpolation="101") for s, h, n, _ in trials]
    wrong = [i for i, (trial, e) in enumerate(zip(trials, expected)) if not math.isclose(trial[3], e, abs_tol=1e-6)]
    if wrong:
        scores, hits, num_true, value = trials[wrong[0]]
        case = (f"for {len(scores)} detections with {int(hits.sum())} true positives and {num_true} true boxes, "
                f"the 101-point AP is {expected[wrong[0]]:.4f}, but yours gave {value:.4f}")
        mistakes = [_ap_mistakes(s, h, n) for s, h, n, _ in trials]
        for explanation in mistakes[0]:  # the mistake that explains every answer
            expect(not all(math.isclose(t[3], m[explanation], abs_tol=1e-6) for t, m in zip(trials, mistakes)),
                   f"{case}: {explanation}")
        expect(False, f"{case}. Hint: sort by score, cumulative TP -> precision TP/k and recall TP/num_true, "
                      "envelope, sample at 101 levels (0 where recall never gets there), mean.")
    no_detections = _call(average_precision, torch.zeros(0), torch.zeros(0, dtype=torch.bool), 5, what="average_precision")
    no_detections = no_detections.item() if isinstance(no_detections, torch.Tensor) else no_detections
    expect(isinstance(no_detections, numbers.Real) and not math.isnan(no_detections) and no_detections == 0,
           f"a class with true boxes but no detections has AP 0 (nothing was found), got {no_detections!r}.")
    return passed("your AP agrees with the COCO-style 101-point AP of utils.detection on every ranking.")
