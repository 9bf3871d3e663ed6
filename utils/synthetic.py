"""Procedural data: data sets generated from a seed, with labels that are exact by construction.

Nothing here is downloaded. Each generator takes a ``generator`` (a seeded
``torch.Generator``, an int seed, or ``None`` for PyTorch's global generator), so
the same seed always gives the same data.

**Digit canvases for object detection**::

    from utils.data import load_mnist
    from utils.synthetic import make_detection_canvases

    images, labels = load_mnist("train")
    canvases, targets = make_detection_canvases(images, labels, 1000, canvas_size=64, generator=0)
    canvases.shape             # torch.Size([1000, 1, 64, 64]), float32 in [0, 1]
    targets[0]["boxes"]        # float32 [k, 4], (x1, y1, x2, y2) in pixels
    targets[0]["labels"]       # int64 [k], the digits

Boxes use torchvision's ``xyxy`` convention in pixel-edge coordinates: a box
``(x1, y1, x2, y2)`` covers the pixel columns ``x1 .. x2 - 1`` and rows ``y1 .. y2 - 1``,
so ``canvas[..., y1:y2, x1:x2]`` is exactly the box and its area ``(x2 - x1) * (y2 - y1)``
counts pixels.

**Digit scenes for semantic segmentation**::

    from utils.synthetic import make_segmentation_scenes

    scenes, masks = make_segmentation_scenes(images, labels, 1000, canvas_size=64, generator=0)
    scenes.shape               # torch.Size([1000, 1, 64, 64]), float32 in [0, 1]
    masks.shape                # torch.Size([1000, 64, 64]), int64: 0 = background, 1 + digit on its ink

The scenes are exactly the canvases :func:`make_detection_canvases` makes from the same
arguments and seed; the mask labels every ink pixel (every non-zero pixel) with its digit's
class, ``1 + label``, and every other pixel 0 (background).

The private helpers below (resizing a digit and cropping it to its
ink, placing patches without overlap) are meant to be shared by further scene
generators, e.g. one with per-pixel labels for segmentation.

**Shape scenes with captions, for image captioning**::

    from utils.synthetic import make_shape_scenes

    images, captions, scenes = make_shape_scenes(1000, image_size=32, generator=0,
                                                 exclude=[("red", "circle")])
    images.shape               # torch.Size([1000, 3, 32, 32]), float32 in [0, 1]
    captions[0]                # e.g. "a small green square left of a large blue triangle"
    scenes[0]["objects"][0]    # {"colour", "shape", "size", "box"} of the object named first

Two shapes per image; the caption names the left (or upper) one first, so each image has exactly
one right caption. ``exclude`` and ``require`` make a compositional split of (colour, shape) pairs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["INK_THRESHOLD", "make_detection_canvases", "make_segmentation_scenes", "make_shape_scenes"]

#: After resizing, pixels darker than this are set to 0 (resampling smears a faint halo
#: around every stroke); every non-zero pixel of a canvas is then ink, and a box drawn
#: tight around the non-zero pixels is tight around what you see.
INK_THRESHOLD = 0.05


# --- argument checks shared by the generators -------------------------------------------------

def _as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """A ``torch.Generator`` from a generator, an int seed or ``None`` (PyTorch's global generator)."""
    if generator is None or isinstance(generator, torch.Generator):
        if generator is not None and generator.device.type != "cpu":
            raise ValueError(f"generator must be a CPU torch.Generator, got one on {generator.device}: "
                             "create it with torch.Generator() (the data is made on the CPU)")
        return generator
    if isinstance(generator, bool) or not isinstance(generator, numbers.Integral):
        raise TypeError(f"generator must be a torch.Generator, an int seed or None, got "
                        f"{type(generator).__name__} ({generator!r})")
    if not 0 <= generator < 2**63:
        raise ValueError(f"a seed must be in [0, 2**63), got {generator}")
    return torch.Generator().manual_seed(int(generator))


def _as_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _as_size(canvas_size) -> tuple[int, int]:
    """``canvas_size`` (an int, or a pair (height, width)) as (height, width)."""
    if isinstance(canvas_size, numbers.Integral) and not isinstance(canvas_size, bool):
        canvas_size = (canvas_size, canvas_size)
    if (not isinstance(canvas_size, Sequence) or len(canvas_size) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in canvas_size)):
        raise ValueError(f"canvas_size must be an int >= 1 or a pair (height, width) of them, got {canvas_size!r}")
    return int(canvas_size[0]), int(canvas_size[1])


def _as_range(value, name: str, *, integer: bool) -> tuple:
    """A number, or a pair (low, high) with low <= high, as the pair."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, kind) and not isinstance(value, bool):
        value = (value, value)
    what = "int" if integer else "number"
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{name} must be a {what} or a pair (low, high) of {what}s, got {value!r}")
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"{name} must be a pair (low, high) with low <= high, got {value!r}")
    return (int(low), int(high)) if integer else (float(low), float(high))


def _check_digits(images, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, 1, h, w] or [N, h, w] (float, [0, 1]) and labels [N] as CPU tensors [N, h, w] and int64 [N]."""
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(f"images and labels must be tensors (e.g. from utils.data.load_mnist), got "
                        f"{type(images).__name__} and {type(labels).__name__}")
    if images.dim() == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.dim() != 3:
        raise ValueError(f"images must be grey-scale, [N, 1, height, width] or [N, height, width], "
                         f"got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}: divide uint8 images by 255")
    if labels.dim() != 1 or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be a 1-D integer tensor, got shape {tuple(labels.shape)} and dtype {labels.dtype}")
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels: they must pair up")
    if len(images) == 0:
        raise ValueError("images is empty: give at least one digit to draw from")
    images = images.detach().to("cpu", torch.float32)
    if images.min() < 0 or images.max() > 1 or not bool(torch.isfinite(images).all()):
        raise ValueError(f"image values must be in [0, 1], got {images.min().item():.3g} to {images.max().item():.3g}: "
                         "undo any normalisation first")
    blank = (images.flatten(1).amax(dim=1) < INK_THRESHOLD).nonzero().flatten()
    if len(blank):
        raise ValueError(f"{len(blank)} image(s) have no ink (no pixel >= {INK_THRESHOLD}), the first is image "
                         f"{blank[0].item()}: a blank image has no bounding box; leave it out")
    return images, labels.detach().to("cpu", torch.int64)


# --- digit patches and placement (shared by the scene generators) -----------------------------

def _resized_ink_patches(images: torch.Tensor, sizes: torch.Tensor) -> list[torch.Tensor]:
    """Resize ``images[i]`` ([N, h, w]) to ``sizes[i]`` x ``sizes[i]`` pixels (bilinear, antialiased),
    zero the pixels below INK_THRESHOLD, and crop each to its ink: a list of N patches [h_i, w_i]
    whose first and last rows and columns all contain ink. Images of one size are resized together."""
    patches: list[torch.Tensor | None] = [None] * len(images)
    for size in sizes.unique().tolist():
        members = (sizes == size).nonzero().flatten()
        resized = F.interpolate(images[members, None], size=(size, size), mode="bilinear",
                                align_corners=False, antialias=True)[:, 0].clamp_(0, 1)
        resized[resized < INK_THRESHOLD] = 0
        ink_rows, ink_cols = resized.amax(dim=2) > 0, resized.amax(dim=1) > 0  # [n, size] each
        positions = torch.arange(size)
        top = torch.where(ink_rows, positions, size).amin(dim=1).tolist()
        bottom = torch.where(ink_rows, positions, -1).amax(dim=1).tolist()
        left = torch.where(ink_cols, positions, size).amin(dim=1).tolist()
        right = torch.where(ink_cols, positions, -1).amax(dim=1).tolist()
        for k, index in enumerate(members.tolist()):
            if bottom[k] < 0:  # every pixel fell below the threshold: keep the brightest one
                row, col = divmod(int(resized[k].argmax()), size)
                resized[k, row, col] = max(float(resized[k, row, col]), INK_THRESHOLD)
                top[k] = bottom[k] = row
                left[k] = right[k] = col
            patches[index] = resized[k, top[k]:bottom[k] + 1, left[k]:right[k] + 1]
    return patches  # type: ignore[return-value]


def _iou_with(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]]) -> float:
    """The largest IoU between ``box`` and any of ``others`` (0.0 if there are none)."""
    x1, y1, x2, y2 = box
    area = (x2 - x1) * (y2 - y1)
    largest = 0.0
    for ox1, oy1, ox2, oy2 in others:
        overlap = max(0, min(x2, ox2) - max(x1, ox1)) * max(0, min(y2, oy2) - max(y1, oy1))
        if overlap:
            largest = max(largest, overlap / (area + (ox2 - ox1) * (oy2 - oy1) - overlap))
    return largest


def _find_place(height: int, width: int, canvas_hw: tuple[int, int], placed: list, max_overlap: float,
                max_attempts: int, generator: torch.Generator | None) -> tuple[int, int, int, int] | None:
    """A random box (x1, y1, x2, y2) for a ``height`` x ``width`` patch inside the canvas whose IoU with
    every box in ``placed`` is at most ``max_overlap``; None if ``max_attempts`` positions all fail."""
    canvas_h, canvas_w = canvas_hw
    for _ in range(max_attempts):
        y1, x1 = torch.rand(2, generator=generator).tolist()
        y1, x1 = int(y1 * (canvas_h - height + 1)), int(x1 * (canvas_w - width + 1))
        box = (x1, y1, x1 + width, y1 + height)
        if _iou_with(box, placed) <= max_overlap:
            return box
    return None


# --- digit canvases for object detection ------------------------------------------------------

def make_detection_canvases(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_canvases: int,
    *,
    canvas_size: int | tuple[int, int] = 64,
    digits_per_canvas: int | tuple[int, int] = (1, 4),
    scale_range: float | tuple[float, float] = (0.75, 1.25),
    max_overlap: float = 0.0,
    max_attempts: int = 50,
    generator: torch.Generator | int | None = None,
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Black canvases with a few digits on each, and the box and class of every digit.

    How one canvas is made, every random draw from ``generator``:

    1. a number of digits ``k``, uniform in ``digits_per_canvas = (low, high)`` (both included);
    2. ``k`` digits drawn at random (with replacement) from ``images``/``labels``;
    3. each digit resized to ``round(s * side)`` pixels square, ``s`` uniform in ``scale_range``
       and ``side`` the images' side (28 for MNIST), then cropped to its ink (pixels
       >= :data:`INK_THRESHOLD`; fainter ones are set to 0);
    4. each digit, in turn, put at a uniformly random position where it lies wholly inside the
       canvas and its box overlaps every box placed before it by an IoU of at most
       ``max_overlap``. **Overlap policy:** the default 0.0 means boxes never overlap (they may
       touch), so every digit is fully visible and its box is tight around its own pixels.
       With ``max_overlap > 0`` overlapping strokes are merged with a pixel-wise maximum.
       A digit that finds no such place in ``max_attempts`` random positions is left out, so a
       crowded canvas can hold fewer than ``k`` digits (never fewer than one: the first
       always fits).

    Returns ``(canvases, targets)``:

    - ``canvases``: float32 ``[num_canvases, 1, height, width]``, values in [0, 1], on the CPU;
    - ``targets``: a list of ``num_canvases`` dicts, in the format of torchvision's detection
      models and of ``torchmetrics.detection.MeanAveragePrecision``: ``"boxes"`` float32
      ``[k, 4]`` in ``xyxy`` pixel-edge coordinates (whole numbers; see the module docstring)
      and ``"labels"`` int64 ``[k]``, the digits' labels, in the order they were placed.

    ``images``: float ``[N, 1, h, w]`` or ``[N, h, w]`` with values in [0, 1], square or not
    (the larger side is resized to ``round(s * side)``, keeping the aspect ratio); ``labels``:
    integer ``[N]``. ``canvas_size``: an int or ``(height, width)``. ``generator``: a seeded CPU
    ``torch.Generator`` (its state advances), an int seed, or ``None`` for PyTorch's global
    generator; the same seed gives the same canvases.
    """
    images, labels = _check_digits(images, labels)
    num_canvases = _as_count(num_canvases, "num_canvases")
    canvas_hw = _as_size(canvas_size)
    low_count, high_count = _as_range(digits_per_canvas, "digits_per_canvas", integer=True)
    if low_count < 1:
        raise ValueError(f"digits_per_canvas must be at least 1 digit per canvas, got {digits_per_canvas!r}")
    low_scale, high_scale = _as_range(scale_range, "scale_range", integer=False)
    side = max(images.shape[1], images.shape[2])
    if low_scale <= 0 or round(low_scale * side) < 4:
        raise ValueError(f"scale_range {scale_range!r} makes the smallest digits {round(low_scale * side)} pixels "
                         f"wide (images are {side} pixels): use a scale of at least {4 / side:.2f}")
    if round(high_scale * side) > min(canvas_hw):
        raise ValueError(f"scale_range {scale_range!r} makes the largest digits {round(high_scale * side)} pixels, "
                         f"more than the canvas ({canvas_hw[0]} x {canvas_hw[1]}): lower the scales to at most "
                         f"{min(canvas_hw) / side:.2f} or use a larger canvas_size")
    if isinstance(max_overlap, bool) or not isinstance(max_overlap, numbers.Real) or not 0 <= max_overlap < 1:
        raise ValueError(f"max_overlap must be a number in [0, 1): the largest IoU allowed between two digits' "
                         f"boxes (0 = no overlap), got {max_overlap!r}")
    max_attempts = _as_count(max_attempts, "max_attempts")
    generator = _as_generator(generator)

    # Every random choice but the positions, drawn up front: counts, digits, sizes.
    counts = torch.randint(low_count, high_count + 1, (num_canvases,), generator=generator)
    total = int(counts.sum())
    chosen = torch.randint(len(images), (total,), generator=generator)
    scales = low_scale + (high_scale - low_scale) * torch.rand(total, generator=generator, dtype=torch.float64)
    if images.shape[1] == images.shape[2]:
        sources = images[chosen]
    else:  # pad to a square (centred) so one resize keeps the aspect ratio; padding is blank
        pad_h, pad_w = side - images.shape[1], side - images.shape[2]
        sources = F.pad(images[chosen], (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
    patches = _resized_ink_patches(sources, (scales * side).round().long())
    chosen_labels = labels[chosen].tolist()

    canvases = torch.zeros(num_canvases, 1, *canvas_hw)
    targets = []
    first = 0
    for index, count in enumerate(counts.tolist()):
        boxes, digit_labels = [], []
        for j in range(first, first + count):
            patch = patches[j]
            box = _find_place(patch.shape[0], patch.shape[1], canvas_hw, boxes, float(max_overlap),
                              max_attempts, generator)
            if box is None:
                continue  # crowded: leave this digit out (see the overlap policy)
            x1, y1, x2, y2 = box
            region = canvases[index, 0, y1:y2, x1:x2]
            torch.maximum(region, patch, out=region)
            boxes.append(box)
            digit_labels.append(chosen_labels[j])
        first += count
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        "labels": torch.tensor(digit_labels, dtype=torch.int64)})
    return canvases, targets


# --- digit scenes for semantic segmentation ---------------------------------------------------

def make_segmentation_scenes(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_scenes: int,
    *,
    canvas_size: int | tuple[int, int] = 64,
    digits_per_scene: int | tuple[int, int] = (1, 4),
    scale_range: float | tuple[float, float] = (0.75, 1.25),
    max_attempts: int = 50,
    generator: torch.Generator | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Black scenes with a few digits on each, and the class of every pixel.

    The scenes are made exactly as :func:`make_detection_canvases` makes its canvases (same
    arguments, same random draws: the same seed gives the same pictures), with its default
    overlap policy: digits never overlap, so every ink pixel belongs to exactly one digit. The
    mask gives each pixel a class:

    - ``0`` (background) where the scene is black, i.e. below :data:`INK_THRESHOLD` after
      resizing (fainter pixels are set to 0 in the scene too);
    - ``1 + label`` on the ink of a digit with label ``label`` (for MNIST: ``1 + digit``, so
      11 classes in all, background included).

    The labels are exact by construction: ``masks > 0`` is exactly ``scenes[:, 0] > 0``.

    Returns ``(scenes, masks)``: ``scenes`` float32 ``[num_scenes, 1, height, width]`` with values
    in [0, 1] and ``masks`` int64 ``[num_scenes, height, width]``, both on the CPU.

    ``images``: float ``[N, 1, h, w]`` or ``[N, h, w]`` in [0, 1]; ``labels``: integer ``[N]``, each
    >= 0. ``digits_per_scene``: an int or ``(low, high)`` (both included); a digit that finds no free
    place in ``max_attempts`` random positions is left out. ``canvas_size``, ``scale_range`` and
    ``generator``: as in :func:`make_detection_canvases`.
    """
    num_scenes = _as_count(num_scenes, "num_scenes")
    low_count, _ = _as_range(digits_per_scene, "digits_per_scene", integer=True)
    if low_count < 1:
        raise ValueError(f"digits_per_scene must be at least 1 digit per scene, got {digits_per_scene!r}")
    images, labels = _check_digits(images, labels)
    if labels.min() < 0:
        raise ValueError(f"labels must be >= 0 (class 0 of the mask is the background, a digit with label "
                         f"k is class 1 + k), got {labels.min().item()}")
    scenes, targets = make_detection_canvases(
        images, labels, num_scenes, canvas_size=canvas_size, digits_per_canvas=digits_per_scene,
        scale_range=scale_range, max_overlap=0.0, max_attempts=max_attempts, generator=generator)
    masks = torch.zeros(scenes.shape[0], *scenes.shape[2:], dtype=torch.int64)
    for scene, mask, target in zip(scenes, masks, targets):
        # boxes never overlap and hold all the ink: each box's ink pixels are its digit's
        for (x1, y1, x2, y2), label in zip(target["boxes"].long().tolist(), target["labels"].tolist()):
            region = mask[y1:y2, x1:x2]
            region[scene[0, y1:y2, x1:x2] > 0] = 1 + label
    return scenes, masks


# --- Shape scenes with captions (image captioning) --------------------------------------------

#: Names and RGB colours (float, [0, 1]) of the shapes' colours in :func:`make_shape_scenes`.
SCENE_COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.90, 0.15, 0.15),
    "green": (0.15, 0.75, 0.20),
    "blue": (0.20, 0.35, 1.00),
    "yellow": (0.95, 0.85, 0.10),
}
#: The shapes of :func:`make_shape_scenes`, in the order of their codes.
SCENE_SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
#: The two size words, and each one's side as a fraction (low, high) of the image's side.
SCENE_SIZES: dict[str, tuple[float, float]] = {"small": (0.25, 0.3), "large": (0.4, 0.47)}


def _as_colour_shape_pairs(pairs, name: str) -> list[tuple[str, str]]:
    """``pairs`` (an iterable of (colour, shape) names, or None) as a sorted list of unique pairs."""
    if pairs is None:
        return []
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (Sequence, set, frozenset)):
        raise TypeError(f"{name} must be a list of (colour, shape) pairs such as [('red', 'circle')], "
                        f"got {type(pairs).__name__} ({pairs!r:.80})")
    checked = set()
    for pair in pairs:
        if (isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2
                or not all(isinstance(word, str) for word in pair)):
            raise ValueError(f"{name} must hold (colour, shape) pairs of names such as ('red', 'circle'), "
                             f"got {pair!r}")
        colour, shape = pair
        if colour not in SCENE_COLOURS:
            raise ValueError(f"unknown colour {colour!r} in {name}: the colours are {list(SCENE_COLOURS)}")
        if shape not in SCENE_SHAPES:
            raise ValueError(f"unknown shape {shape!r} in {name}: the shapes are {list(SCENE_SHAPES)}")
        checked.add((colour, shape))
    return sorted(checked)


def _shape_masks(shapes: torch.Tensor, boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Boolean masks [m, height, width] of ``m`` shapes (codes into SCENE_SHAPES), each drawn inside its
    square box (x1, y1, side) in pixels: a circle inscribed in the box, the box filled (square), or an
    upward triangle with its apex at the middle of the box's top edge and its base the bottom edge. A
    pixel is inside when its centre is."""
    x1, y1, side = (boxes[:, k, None, None].double() for k in range(3))
    ys = torch.arange(height, dtype=torch.float64)[None, :, None] + 0.5
    xs = torch.arange(width, dtype=torch.float64)[None, None, :] + 0.5
    u, v = (xs - x1) / side, (ys - y1) / side                    # position inside the box, in [0, 1]
    in_box = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    circle = (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    triangle = in_box & ((u - 0.5).abs() <= v / 2)
    code = shapes[:, None, None]
    return torch.where(code == 0, circle, torch.where(code == 1, in_box, triangle))


def make_shape_scenes(
    num_scenes: int,
    *,
    image_size: int = 32,
    exclude=None,
    require=None,
    generator: torch.Generator | int | None = None,
) -> tuple[torch.Tensor, list[str], list[dict]]:
    """Images of two coloured shapes on black, each with the one caption that describes it.

    Every scene holds two objects, each with a colour (:data:`SCENE_COLOURS`), a shape
    (:data:`SCENE_SHAPES`) and a size (:data:`SCENE_SIZES`), side by side or one above the other.
    The caption names the left (or upper) object first::

        "a small red circle left of a large blue square"      # side by side
        "a large yellow triangle above a small green circle"  # one above the other

    so it is a function of the image: the one right answer, exactly. How one scene is made,
    every random draw from ``generator``:

    1. a layout, ``"left of"`` or ``"above"``, with equal chance;
    2. for each object, a (colour, shape) pair uniform over the pairs not in ``exclude`` and a
       size word uniform over ``small`` / ``large``; with ``require``, one of the two objects
       (either, with equal chance) takes its pair uniformly from ``require`` instead;
    3. each object's side in pixels, uniform over ``round(f * image_size)`` for ``f`` in its
       size word's range (small 8-10 and large 13-15 pixels at ``image_size=32``);
    4. each object's square box at a uniformly random place inside its own half of the image
       (left/right half for ``"left of"``, top/bottom half for ``"above"``), so the two never
       overlap and the relation holds for every pixel of the two objects; across the layout's
       axis the first box is placed anywhere and the second one's centre within half the smaller
       side of the first one's, so the boxes overlap in that direction and the other relation is
       false (the left object of a ``"left of"`` scene is never also wholly above the other).

    Returns ``(images, captions, scenes)``:

    - ``images``: float32 ``[num_scenes, 3, image_size, image_size]``, values in [0, 1], CPU;
    - ``captions``: ``num_scenes`` strings, lower case, words separated by single spaces;
    - ``scenes``: ``num_scenes`` dicts, ``{"relation": "left of" | "above", "objects": [first,
      second]}``, each object ``{"colour", "shape", "size", "box"}`` with ``box`` the pixel-edge
      box ``(x1, y1, x2, y2)`` of the square it is drawn in (``x2 - x1`` is its side), in the
      caption's order.

    ``exclude``: (colour, shape) pairs that never appear, e.g. ``[("red", "circle")]``, for a
    compositional split (train on scenes made with ``exclude=held_out``, test on scenes made
    with ``require=held_out``). ``require``: pairs of which every scene holds at least one;
    it must not share a pair with ``exclude``. ``generator``: a seeded CPU ``torch.Generator``
    (its state advances), an int seed, or ``None`` for PyTorch's global generator; the same
    seed and arguments give the same scenes.
    """
    num_scenes = _as_count(num_scenes, "num_scenes")
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or image_size < 16:
        raise ValueError(f"image_size must be an int >= 16 (the side of the square images, in pixels; "
                         f"smaller ones leave the small shapes too few pixels to tell apart), got {image_size!r}")
    image_size = int(image_size)
    excluded = _as_colour_shape_pairs(exclude, "exclude")
    required = _as_colour_shape_pairs(require, "require")
    all_pairs = [(colour, shape) for colour in SCENE_COLOURS for shape in SCENE_SHAPES]
    allowed = [pair for pair in all_pairs if pair not in excluded]
    if not allowed:
        raise ValueError("exclude leaves no (colour, shape) pair to draw: exclude fewer pairs")
    both = sorted(set(excluded) & set(required))
    if both:
        raise ValueError(f"the pairs {both} are both excluded and required: a scene cannot hold them and "
                         f"not hold them; take them out of one of the two lists")
    generator = _as_generator(generator)

    # Every random draw, up front: layouts, pairs, sizes, sides, then positions.
    layouts = torch.randint(2, (num_scenes,), generator=generator)             # 0: left of, 1: above
    pair_index = torch.randint(len(allowed), (num_scenes, 2), generator=generator)
    pairs = [[allowed[i] for i in row] for row in pair_index.tolist()]
    if required:
        which = torch.randint(2, (num_scenes,), generator=generator).tolist()
        forced = torch.randint(len(required), (num_scenes,), generator=generator).tolist()
        for scene, (slot, k) in enumerate(zip(which, forced)):
            pairs[scene][slot] = required[k]
    is_large = torch.randint(2, (num_scenes, 2), generator=generator)
    side_ranges = torch.tensor([[round(f * image_size) for f in SCENE_SIZES[word]] for word in ("small", "large")])
    low, high = side_ranges[is_large, 0], side_ranges[is_large, 1]             # [n, 2] each
    sides = low + (torch.rand(num_scenes, 2, generator=generator, dtype=torch.float64)
                   * (high - low + 1)).long().clamp(max=high - low)
    # Positions: along the layout's axis inside the object's half, across it anywhere.
    half = image_size // 2
    along_room = (half - sides + 1).clamp(min=1)                               # places in a half
    across_room = image_size - sides + 1                                       # places in the image
    along = (torch.rand(num_scenes, 2, generator=generator, dtype=torch.float64) * along_room).long()
    along = along + torch.tensor([0, image_size - half])                         # second object: second half
    # Across it, the second object's box is centred within half the smaller side of the first's centre
    # line, so the two overlap across the layout's axis and the other relation is false.
    across_first = (torch.rand(num_scenes, generator=generator, dtype=torch.float64) * across_room[:, 0]).long()
    centred = across_first + torch.div(sides[:, 0] - sides[:, 1], 2, rounding_mode="floor")
    slack = torch.div(sides.amin(dim=1), 2, rounding_mode="floor")
    lowest = (centred - slack).clamp(min=0)
    highest = torch.minimum(centred + slack, image_size - sides[:, 1]).clamp(min=lowest)
    across_second = lowest + (torch.rand(num_scenes, generator=generator, dtype=torch.float64)
                              * (highest - lowest + 1)).long().clamp(max=highest - lowest)
    across = torch.stack([across_first, across_second], dim=1)
    horizontal = (layouts == 0)[:, None]
    x1 = torch.where(horizontal, along, across)
    y1 = torch.where(horizontal, across, along)

    shape_names = list(SCENE_SHAPES)
    shape_codes = torch.tensor([[shape_names.index(shape) for _, shape in row] for row in pairs])
    rgb = torch.tensor([[SCENE_COLOURS[colour] for colour, _ in row] for row in pairs])  # [n, 2, 3]
    boxes = torch.stack([x1, y1, sides], dim=-1)                                # [n, 2, 3]
    masks = _shape_masks(shape_codes.flatten(), boxes.reshape(-1, 3), image_size, image_size)
    masks = masks.reshape(num_scenes, 2, image_size, image_size)
    images = (masks[:, :, None].float() * rgb[..., None, None]).sum(dim=1)      # objects never overlap

    relations = ("left of", "above")
    size_words = ("small", "large")
    captions, scenes = [], []
    for scene_pairs, scene_boxes, scene_large, layout in zip(pairs, boxes.tolist(), is_large.tolist(),
                                                            layouts.tolist()):
        objects = []
        for (colour, shape), (left, top, side), large in zip(scene_pairs, scene_boxes, scene_large):
            objects.append({"colour": colour, "shape": shape, "size": size_words[large],
                            "box": (left, top, left + side, top + side)})
        relation = relations[layout]
        first, second = objects
        captions.append(f"a {first['size']} {first['colour']} {first['shape']} {relation} "
                        f"a {second['size']} {second['colour']} {second['shape']}")
        scenes.append({"relation": relation, "objects": objects})
    return images.contiguous(), captions, scenes
