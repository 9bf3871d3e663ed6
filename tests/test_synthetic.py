"""Tests of utils.synthetic: shapes and dtypes, boxes inside the canvas and tight around the
digits' pixels, masks exact on every pixel, determinism from a seed, the overlap policy, and clear errors for bad input."""

from __future__ import annotations

import pytest
import torch
from torchvision.ops import box_iou

from utils.synthetic import INK_THRESHOLD, make_detection_canvases, make_segmentation_scenes


@pytest.fixture(scope="module")
def digits():
    """Forty small fake 'digits' of ten classes: random blobs of ink on a 28 x 28 black square,
    of varied sizes and places, so that cropping to the ink matters."""
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(40, 1, 28, 28)
    for image in images:
        top, left = torch.randint(0, 10, (2,), generator=generator).tolist()
        height, width = torch.randint(4, 18, (2,), generator=generator).tolist()
        image[0, top:top + height, left:left + width] = 0.2 + 0.8 * torch.rand(height, width, generator=generator)
    return images, torch.arange(40) % 10


def tight_and_covering(canvas: torch.Tensor, boxes: torch.Tensor) -> bool:
    """Every box's first and last rows and columns hold ink, and no ink lies outside all the boxes."""
    image = canvas[0]
    covered = torch.zeros_like(image, dtype=torch.bool)
    for x1, y1, x2, y2 in boxes.long().tolist():
        patch = image[y1:y2, x1:x2]
        if not (patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()):
            return False
        covered[y1:y2, x1:x2] = True
    return not bool(image[~covered].any())


def test_shapes_dtypes_and_value_range(digits):
    canvases, targets = make_detection_canvases(*digits, 25, canvas_size=48, generator=1)
    assert canvases.shape == (25, 1, 48, 48) and canvases.dtype == torch.float32
    assert canvases.min() >= 0 and canvases.max() <= 1
    assert len(targets) == 25
    for target in targets:
        assert set(target) == {"boxes", "labels"}
        assert target["boxes"].dtype == torch.float32 and target["labels"].dtype == torch.int64
        assert target["boxes"].shape == (len(target["labels"]), 4)
        assert 1 <= len(target["labels"]) <= 4
        assert set(target["labels"].tolist()) <= set(range(10))


def test_rectangular_canvas_and_fixed_count(digits):
    canvases, targets = make_detection_canvases(*digits, 10, canvas_size=(40, 90), digits_per_canvas=2,
                                                scale_range=1.0, generator=2)
    assert canvases.shape == (10, 1, 40, 90)
    assert all(len(target["labels"]) == 2 for target in targets)
    boxes = torch.cat([target["boxes"] for target in targets])
    assert boxes[:, 2].max() <= 90 and boxes[:, 3].max() <= 40


def test_boxes_are_inside_the_canvas_whole_and_tight_around_the_ink(digits):
    canvases, targets = make_detection_canvases(*digits, 60, canvas_size=64, scale_range=(0.5, 2.0), generator=3)
    for canvas, target in zip(canvases, targets):
        boxes = target["boxes"]
        assert (boxes >= 0).all() and (boxes[:, 2:] <= 64).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        assert torch.equal(boxes, boxes.round()), "boxes lie on pixel edges"
        assert tight_and_covering(canvas, boxes)
    assert canvases[canvases > 0].min() >= INK_THRESHOLD, "faint resampling halos are removed"


def test_a_digit_keeps_its_label_and_its_scaled_size(digits):
    images, labels = digits
    canvases, targets = make_detection_canvases(images[:1], labels[:1], 5, canvas_size=40, digits_per_canvas=1,
                                                scale_range=1.0, generator=4)
    ink = images[0, 0] >= INK_THRESHOLD
    height, width = int(ink.any(1).sum()), int(ink.any(0).sum())
    for canvas, target in zip(canvases, targets):
        x1, y1, x2, y2 = target["boxes"][0].long().tolist()
        assert target["labels"].tolist() == [labels[0].item()]
        assert (x2 - x1, y2 - y1) == (width, height)  # scale 1: the digit's own ink box, moved
        torch.testing.assert_close(canvas[0, y1:y2, x1:x2], torch.where(images[0, 0] >= INK_THRESHOLD, images[0, 0], 0.0)
                                   [ink.any(1)][:, ink.any(0)], atol=1e-5, rtol=0)


def test_the_same_seed_gives_the_same_canvases_and_a_new_seed_new_ones(digits):
    first = make_detection_canvases(*digits, 20, generator=5)
    again = make_detection_canvases(*digits, 20, generator=torch.Generator().manual_seed(5))
    other = make_detection_canvases(*digits, 20, generator=6)
    assert torch.equal(first[0], again[0])
    assert all(torch.equal(a["boxes"], b["boxes"]) and torch.equal(a["labels"], b["labels"])
               for a, b in zip(first[1], again[1]))
    assert not torch.equal(first[0], other[0])


def test_a_generator_advances_and_the_global_generator_follows_the_global_seed(digits):
    generator = torch.Generator().manual_seed(7)
    one, _ = make_detection_canvases(*digits, 5, generator=generator)
    two, _ = make_detection_canvases(*digits, 5, generator=generator)
    assert not torch.equal(one, two), "a shared generator gives the next canvases, not the same ones"
    torch.manual_seed(8)
    three, _ = make_detection_canvases(*digits, 5)
    torch.manual_seed(8)
    four, _ = make_detection_canvases(*digits, 5)
    assert torch.equal(three, four)


def test_default_overlap_policy_boxes_never_overlap(digits):
    _, targets = make_detection_canvases(*digits, 80, canvas_size=56, digits_per_canvas=4, generator=9)
    for target in targets:
        iou = box_iou(target["boxes"], target["boxes"])
        assert (iou - torch.eye(len(iou))).max() <= 0, "no two boxes on a canvas share any area"


def test_max_overlap_allows_some_overlap_and_caps_it(digits):
    _, targets = make_detection_canvases(*digits, 80, canvas_size=40, digits_per_canvas=4, max_overlap=0.3,
                                         generator=10)
    largest = max((box_iou(t["boxes"], t["boxes"]) - torch.eye(len(t["boxes"]))).max().item() for t in targets)
    assert 0 < largest <= 0.3 + 1e-6


def test_a_crowded_canvas_leaves_out_digits_that_do_not_fit(digits):
    images, labels = digits
    big = torch.ones(3, 1, 28, 28)  # solid squares: at scale 1 they fill 28 x 28
    _, targets = make_detection_canvases(big, torch.tensor([1, 2, 3]), 10, canvas_size=40, digits_per_canvas=4,
                                         scale_range=1.0, max_attempts=20, generator=11)
    assert all(len(target["labels"]) == 1 for target in targets), "only one 28 x 28 square fits on a 40 x 40 canvas"


def test_images_without_a_channel_axis_and_non_square_images():
    images = torch.zeros(4, 20, 12)
    images[:, 5:15, 3:9] = 1.0
    canvases, targets = make_detection_canvases(images, torch.arange(4), 6, canvas_size=50, generator=12)
    for canvas, target in zip(canvases, targets):
        assert tight_and_covering(canvas, target["boxes"])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"images": [[0.0]]}, TypeError, "must be tensors"),
        ({"images": torch.rand(5, 3, 28, 28)}, ValueError, "grey-scale"),
        ({"images": torch.ones(5, 1, 28, 28, dtype=torch.uint8)}, TypeError, "divide uint8 images by 255"),
        ({"images": torch.rand(5, 1, 28, 28) * 2}, ValueError, "undo any normalisation"),
        ({"images": torch.zeros(5, 1, 28, 28)}, ValueError, "no ink"),
        ({"labels": torch.arange(4)}, ValueError, "got 5 images but 4 labels"),
        ({"labels": torch.rand(5)}, ValueError, "integer"),
        ({"images": torch.rand(0, 1, 28, 28), "labels": torch.zeros(0, dtype=torch.int64)}, ValueError, "empty"),
        ({"num_canvases": 0}, ValueError, "num_canvases must be an int >= 1"),
        ({"num_canvases": 2.5}, ValueError, "num_canvases"),
        ({"canvas_size": (64,)}, ValueError, "canvas_size"),
        ({"canvas_size": 20}, ValueError, "larger canvas_size"),
        ({"digits_per_canvas": (3, 1)}, ValueError, "low <= high"),
        ({"digits_per_canvas": (0, 2)}, ValueError, "at least 1"),
        ({"digits_per_canvas": (1.5, 2)}, ValueError, "pair"),
        ({"scale_range": (0.05, 1.0)}, ValueError, "at least 0.14"),
        ({"scale_range": (1.0, 3.0)}, ValueError, "lower the scales"),
        ({"max_overlap": 1.0}, ValueError, r"in \[0, 1\)"),
        ({"max_overlap": -0.1}, ValueError, "max_overlap"),
        ({"max_attempts": 0}, ValueError, "max_attempts"),
        ({"generator": "seed"}, TypeError, "torch.Generator, an int seed or None"),
        ({"generator": -1}, ValueError, "seed"),
    ],
)
def test_bad_input_gets_a_clear_error(kwargs, error, message):
    arguments = {"images": torch.rand(5, 1, 28, 28), "labels": torch.arange(5), "num_canvases": 3}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        make_detection_canvases(arguments.pop("images"), arguments.pop("labels"), arguments.pop("num_canvases"),
                                **arguments)


# --- make_segmentation_scenes -------------------------------------------------------------------

def test_segmentation_shapes_dtypes_and_classes(digits):
    scenes, masks = make_segmentation_scenes(*digits, 25, canvas_size=(40, 48), generator=1)
    assert scenes.shape == (25, 1, 40, 48) and scenes.dtype == torch.float32
    assert masks.shape == (25, 40, 48) and masks.dtype == torch.int64
    assert scenes.min() >= 0 and scenes.max() <= 1
    assert masks.min() >= 0 and masks.max() <= 10
    assert all(1 <= len(mask.unique()) - 1 <= 4 for mask in masks), "one to four digit classes per scene"


def test_segmentation_scenes_are_the_detection_canvases_and_masks_are_exact(digits):
    scenes, masks = make_segmentation_scenes(*digits, 40, canvas_size=56, generator=2)
    canvases, targets = make_detection_canvases(*digits, 40, canvas_size=56, generator=2)
    assert torch.equal(scenes, canvases), "the same seed and arguments give the same pictures"
    assert torch.equal(masks > 0, scenes[:, 0] > 0), "a pixel is labelled a digit exactly where there is ink"
    for scene, mask, target in zip(scenes, masks, targets):
        expected = torch.zeros_like(mask)
        for (x1, y1, x2, y2), label in zip(target["boxes"].long().tolist(), target["labels"].tolist()):
            expected[y1:y2, x1:x2] = torch.where(scene[0, y1:y2, x1:x2] > 0, 1 + label, 0)
        assert torch.equal(mask, expected), "each digit's ink carries class 1 + its label, the rest is 0"


def test_segmentation_a_single_digit_scene_is_labelled_with_its_class():
    images = torch.zeros(1, 1, 28, 28)
    images[0, 0, 4:20, 10:14] = 0.9  # a bar, all ink
    scenes, masks = make_segmentation_scenes(images, torch.tensor([7]), 3, canvas_size=32, digits_per_scene=1,
                                             scale_range=1.0, generator=3)
    for scene, mask in zip(scenes, masks):
        assert int((mask == 8).sum()) == 16 * 4 and int((mask == 0).sum()) == 32 * 32 - 16 * 4
        assert torch.equal(scene[0][mask == 8], torch.full((64,), 0.9))


def test_segmentation_same_seed_same_scenes_new_seed_new_ones(digits):
    first = make_segmentation_scenes(*digits, 15, generator=4)
    again = make_segmentation_scenes(*digits, 15, generator=torch.Generator().manual_seed(4))
    other = make_segmentation_scenes(*digits, 15, generator=5)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])
    generator = torch.Generator().manual_seed(6)
    one = make_segmentation_scenes(*digits, 5, generator=generator)[1]
    two = make_segmentation_scenes(*digits, 5, generator=generator)[1]
    assert not torch.equal(one, two), "a shared generator gives the next scenes"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"images": [[0.0]]}, TypeError, "must be tensors"),
        ({"images": torch.rand(5, 3, 28, 28)}, ValueError, "grey-scale"),
        ({"images": torch.rand(5, 1, 28, 28) * 2}, ValueError, "undo any normalisation"),
        ({"labels": torch.arange(4)}, ValueError, "got 5 images but 4 labels"),
        ({"labels": torch.tensor([0, 1, -1, 2, 3])}, ValueError, "labels must be >= 0"),
        ({"num_scenes": 0}, ValueError, "num_scenes must be an int >= 1"),
        ({"digits_per_scene": (0, 2)}, ValueError, "digits_per_scene must be at least 1"),
        ({"digits_per_scene": (3, 1)}, ValueError, "low <= high"),
        ({"canvas_size": 20}, ValueError, "larger canvas_size"),
        ({"scale_range": (0.05, 1.0)}, ValueError, "at least 0.14"),
        ({"max_attempts": 0}, ValueError, "max_attempts"),
        ({"generator": "seed"}, TypeError, "torch.Generator, an int seed or None"),
        ({"max_overlap": 0.2}, TypeError, "max_overlap"),
    ],
)
def test_segmentation_bad_input_gets_a_clear_error(kwargs, error, message):
    arguments = {"images": torch.rand(5, 1, 28, 28), "labels": torch.arange(5), "num_scenes": 3}
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        make_segmentation_scenes(arguments.pop("images"), arguments.pop("labels"), arguments.pop("num_scenes"),
                                 **arguments)
