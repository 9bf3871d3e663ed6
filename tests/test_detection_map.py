"""Tests of utils.detection: the mean average precision of notebook 09, checked against an
independent implementation (torchmetrics' MeanAveragePrecision, which runs pycocotools'
COCOeval) on random detections, and on small cases worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from utils.detection import (
    RECALL_LEVELS,
    average_precision,
    match_detections,
    mean_average_precision,
    precision_recall,
)

MeanAveragePrecision = pytest.importorskip("torchmetrics.detection").MeanAveragePrecision
pytest.importorskip("pycocotools")


def random_detections(seed: int, num_images: int = 30, num_classes: int = 5):
    """Ground truth and imperfect detections: most objects found, with jittered boxes and
    sometimes the wrong class or a duplicate, plus random false positives and a class that is
    only ever predicted. Scores are random, a little higher for better boxes."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=generator)

    predictions, targets = [], []
    for _ in range(num_images):
        count = int(torch.randint(0, 6, (), generator=generator))
        corner = rand(count, 2) * 80
        true_boxes = torch.cat([corner, corner + 8 + rand(count, 2) * 30], dim=1)
        true_labels = torch.randint(0, num_classes, (count,), generator=generator)
        boxes, scores, labels = [], [], []
        for box, label in zip(true_boxes, true_labels):
            for _ in range(int(torch.randint(0, 3, (), generator=generator))):  # 0, 1 or 2 detections
                size = box[2:] - box[:2]
                jitter = (rand(4) - 0.5) * 0.5 * size.repeat(2)
                boxes.append(box + jitter)
                wrong_class = bool(rand(()) < 0.15)
                labels.append(int(torch.randint(0, num_classes, ())) if wrong_class else int(label))
                scores.append(float(rand(()) * 0.7 + 0.3 * (1 - jitter.abs().mean() / size.mean())))
        for _ in range(int(torch.randint(0, 4, (), generator=generator))):  # false positives anywhere
            corner = rand(2) * 80
            boxes.append(torch.cat([corner, corner + 8 + rand(2) * 30]))
            labels.append(int(torch.randint(0, num_classes + 1, (), generator=generator)))  # class 5: never true
            scores.append(float(rand(()) * 0.6))
        predictions.append({"boxes": torch.stack(boxes) if boxes else torch.zeros(0, 4),
                            "scores": torch.tensor(scores, dtype=torch.float32),
                            "labels": torch.tensor(labels, dtype=torch.int64)})
        targets.append({"boxes": true_boxes, "labels": true_labels})
    return predictions, targets


def torchmetrics_map(predictions, targets):
    metric = MeanAveragePrecision(iou_thresholds=[0.5], class_metrics=True, backend="pycocotools")
    metric.update(predictions, targets)
    result = metric.compute()
    per_class = dict(zip(result["classes"].tolist(), result["map_per_class"].tolist()))
    return float(result["map"]), per_class


@pytest.mark.parametrize("seed", range(6))
def test_mean_average_precision_matches_torchmetrics(seed):
    predictions, targets = random_detections(seed)
    ours = mean_average_precision(predictions, targets, iou_threshold=0.5)
    reference, reference_per_class = torchmetrics_map(predictions, targets)
    assert 0.05 < ours["map"] < 0.95, "the random detections should be neither hopeless nor perfect"
    assert ours["map"] == pytest.approx(reference, abs=1e-6)
    for cls, ap in ours["ap_per_class"].items():
        assert ap == pytest.approx(reference_per_class[cls], abs=1e-6), f"class {cls}"
    only_predicted = set(reference_per_class) - set(ours["ap_per_class"])
    assert all(reference_per_class[cls] == -1 for cls in only_predicted), "COCO skips classes with no ground truth"


def test_mean_average_precision_matches_torchmetrics_on_digit_canvases():
    from utils.synthetic import make_detection_canvases

    images = torch.zeros(10, 1, 28, 28)
    images[:, :, 6:22, 10:18] = torch.linspace(0.2, 1.0, 10)[:, None, None, None]
    _, targets = make_detection_canvases(images, torch.arange(10), 40, canvas_size=64, generator=3)
    generator = torch.Generator().manual_seed(0)
    predictions = []
    for target in targets:
        shift = torch.randint(-4, 5, target["boxes"].shape, generator=generator).float()
        labels = torch.where(torch.rand(len(target["labels"]), generator=generator) < 0.1, 0, target["labels"])
        predictions.append({"boxes": target["boxes"] + shift, "labels": labels,
                            "scores": torch.rand(len(labels), generator=generator)})
    ours = mean_average_precision(predictions, targets)["map"]
    assert ours == pytest.approx(torchmetrics_map(predictions, targets)[0], abs=1e-6)


def test_perfect_detections_score_one_and_none_score_zero():
    predictions, targets = random_detections(0)
    perfect = [{"boxes": t["boxes"], "labels": t["labels"], "scores": torch.rand(len(t["labels"]))} for t in targets]
    assert mean_average_precision(perfect, targets)["map"] == pytest.approx(1.0)
    assert mean_average_precision(perfect, targets, interpolation="all")["map"] == pytest.approx(1.0)
    nothing = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64), "scores": torch.zeros(0)}
               for _ in targets]
    result = mean_average_precision(nothing, targets)
    assert result["map"] == 0.0 and set(result["ap_per_class"]) == set(torch.cat([t["labels"] for t in targets]).tolist())


def test_average_precision_worked_by_hand():
    # 3 objects; detections by decreasing score: hit, miss, hit, miss.
    # precision 1, 1/2, 2/3, 1/2 at recall 1/3, 1/3, 2/3, 2/3; monotone envelope 1, 2/3, 2/3, 1/2.
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    hits = torch.tensor([True, False, True, False])
    precision, recall = precision_recall(scores, hits, 3)
    torch.testing.assert_close(precision, torch.tensor([1, 1 / 2, 2 / 3, 1 / 2], dtype=torch.float64))
    torch.testing.assert_close(recall, torch.tensor([1 / 3, 1 / 3, 2 / 3, 2 / 3], dtype=torch.float64))
    assert average_precision(scores, hits, 3, interpolation="all") == pytest.approx(1 / 3 + 1 / 3 * 2 / 3)
    # levels 0.00-0.33 see precision 1 (34 levels), 0.34-0.66 see 2/3 (33), 0.67-1 are never reached
    assert average_precision(scores, hits, 3, interpolation="101") == pytest.approx((34 + 33 * 2 / 3) / 101)
    shuffled = torch.tensor([2, 0, 3, 1])  # the order of the input does not matter, only the scores
    assert average_precision(scores[shuffled], hits[shuffled], 3) == pytest.approx((34 + 33 * 2 / 3) / 101)
    assert len(RECALL_LEVELS) == 101 and RECALL_LEVELS[0] == 0 and RECALL_LEVELS[-1] == 1


def test_matching_takes_the_best_free_box_and_counts_duplicates_as_false_positives():
    true_boxes = torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10]])
    boxes = torch.tensor([[1.0, 0, 11, 10],    # IoU 0.82 with the first box
                          [0.0, 0, 10, 10],    # a perfect duplicate of the first, lower score
                          [20, 0, 30, 20],     # IoU exactly 0.5 with the second: a hit (>= 0.5)
                          [50, 50, 60, 60]])   # nothing there
    scores = torch.tensor([0.9, 0.5, 0.8, 0.7])
    assert match_detections(boxes, scores, true_boxes).tolist() == [True, False, True, False]
    assert match_detections(boxes, scores, true_boxes, iou_threshold=0.51).tolist() == [True, False, False, False]
    assert match_detections(boxes, scores, torch.zeros(0, 4)).tolist() == [False] * 4


def test_classes_without_ground_truth_are_left_out():
    targets = [{"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([1])}]
    predictions = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [30, 30, 40, 40]]), "labels": torch.tensor([1, 7]),
                    "scores": torch.tensor([0.9, 0.95])}]
    result = mean_average_precision(predictions, targets)
    assert result == {"map": 1.0, "ap_per_class": {1: 1.0}}
    empty = mean_average_precision([], [])
    assert math.isnan(empty["map"]) and empty["ap_per_class"] == {}


def test_max_detections_keeps_the_top_scores():
    targets = [{"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([0])}]
    predictions = [{"boxes": torch.tensor([[50.0, 50, 60, 60], [0, 0, 10, 10]]), "labels": torch.tensor([0, 0]),
                    "scores": torch.tensor([0.9, 0.8])}]
    assert mean_average_precision(predictions, targets, max_detections=1)["map"] == 0.0
    assert mean_average_precision(predictions, targets, max_detections=2)["map"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: precision_recall(torch.rand(3), torch.ones(3, dtype=torch.bool), 0), ValueError, "undefined"),
        (lambda: precision_recall(torch.rand(3), torch.ones(2, dtype=torch.bool), 2), ValueError, "3 scores but 2"),
        (lambda: precision_recall(torch.rand(3), torch.ones(3, dtype=torch.bool), 2), ValueError, "matched once"),
        (lambda: average_precision(torch.rand(2), torch.ones(2), 2, interpolation="11"), ValueError, "interpolation"),
        (lambda: match_detections(torch.rand(2, 3), torch.rand(2), torch.rand(1, 4)), ValueError, r"\[n, 4\]"),
        (lambda: match_detections([[0, 0, 1, 1]], torch.rand(1), torch.rand(1, 4)), TypeError, "tensor"),
        (lambda: mean_average_precision({"boxes": torch.rand(1, 4)}, []), TypeError, "one dict per image"),
        (lambda: mean_average_precision([{"boxes": torch.rand(1, 4)}], [{"boxes": torch.rand(1, 4), "labels": torch.ones(1)}]),
         ValueError, "keys"),
        (lambda: mean_average_precision([], [{"boxes": torch.rand(1, 4), "labels": torch.ones(1)}]), ValueError,
         "0 images but targets for 1"),
        (lambda: mean_average_precision([{"boxes": torch.rand(2, 4), "labels": torch.ones(2), "scores": torch.ones(1)}],
                                        [{"boxes": torch.rand(1, 4), "labels": torch.ones(1)}]), ValueError, "one row per box"),
        (lambda: mean_average_precision([], [], max_detections=0), ValueError, "max_detections"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
