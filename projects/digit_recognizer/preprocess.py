"""Turn a drawing into an MNIST-style 28×28 image, the way MNIST itself was made.

LeCun, Cortes and Burges made MNIST from NIST's scanned digits like this: each digit was
size-normalised to fit a 20×20 box, keeping its aspect ratio (anti-aliasing gives grey
levels), then placed in a 28×28 field so that its centre of mass sits at the centre.
A digit drawn in the app goes through the same steps, so the model sees what it was trained on::

    ink (any H×W, 0 = paper, 1 = ink)  ->  crop to the ink  ->  scale the longer side to 20
                                       ->  paste into 28×28 with the centre of mass at (14, 14)

An MNIST test digit passes through almost unchanged (it is already cropped, scaled and centred).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: Side of the square MNIST image.
IMAGE_SIZE = 28
#: The longer side of the digit after scaling (MNIST's 20×20 box).
BOX_SIZE = 20
#: Pixels with at least this much ink count when cropping (ignores faint anti-aliasing dust).
INK_THRESHOLD = 0.05


class EmptyDrawingError(ValueError):
    """The drawing has no ink: there is nothing to recognise."""


def check_ink(ink) -> np.ndarray:
    """``ink`` as a float32 2-D NumPy array, or a clear error saying what is wrong with it.

    Expects a 2-D array (or tensor) of finite numbers in [0, 1], 0 for paper and 1 for full ink.
    """
    if isinstance(ink, torch.Tensor):
        ink = ink.detach().cpu().numpy()
    if not isinstance(ink, np.ndarray):
        raise TypeError(f"the drawing must be a 2-D NumPy array or tensor, got {type(ink).__name__}")
    if ink.ndim != 2:
        raise ValueError(f"the drawing must be 2-D (height, width), got shape {ink.shape}; "
                         f"for a [1, H, W] image pass image[0]")
    if ink.size == 0:
        raise ValueError(f"the drawing is empty (shape {ink.shape})")
    if ink.dtype == bool or not np.issubdtype(ink.dtype, np.number):
        raise TypeError(f"the drawing must hold numbers, got dtype {ink.dtype}")
    ink = ink.astype(np.float32)
    if not np.isfinite(ink).all():
        raise ValueError("the drawing contains NaN or infinite values")
    if ink.min() < 0 or ink.max() > 1:
        raise ValueError(f"ink values must be in [0, 1] (0 = paper, 1 = ink), got {ink.min():g} "
                         f"to {ink.max():g}; divide 0-255 pixel values by 255")
    return ink


def crop_to_ink(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """The smallest rectangle of ``ink`` that holds every pixel with at least ``threshold`` ink.

    Raises :class:`EmptyDrawingError` when no pixel has that much ink.
    """
    rows = np.flatnonzero((ink >= threshold).any(axis=1))
    cols = np.flatnonzero((ink >= threshold).any(axis=0))
    if len(rows) == 0:
        raise EmptyDrawingError("nothing drawn: the canvas has no ink; draw a digit first")
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def scale_to_box(digit: np.ndarray, box: int = BOX_SIZE) -> np.ndarray:
    """Resize ``digit`` so that its longer side is ``box`` pixels, keeping the aspect ratio.

    Bilinear interpolation with anti-aliasing (each output pixel averages the input pixels it
    covers when shrinking), which gives the soft grey edges MNIST's digits have.
    """
    height, width = digit.shape
    scale = box / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if size == (height, width):
        return digit.copy()
    resized = F.interpolate(torch.from_numpy(np.ascontiguousarray(digit))[None, None], size=size,
                            mode="bilinear", antialias=True, align_corners=False)
    return resized[0, 0].clamp(0, 1).numpy()


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """The ink-weighted mean (row, column) position of ``image``, in pixel indices."""
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def place_by_center_of_mass(digit: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Paste ``digit`` into a ``size``×``size`` black image with its centre of mass at the centre.

    The shift is rounded to whole pixels and limited so that the digit stays inside the image.
    """
    height, width = digit.shape
    if height > size or width > size:
        raise ValueError(f"a digit of {height}×{width} pixels does not fit into {size}×{size}")
    row, col = center_of_mass(digit)
    top = min(max(round(size / 2 - row), 0), size - height)
    left = min(max(round(size / 2 - col), 0), size - width)
    image = np.zeros((size, size), dtype=np.float32)
    image[top:top + height, left:left + width] = digit
    return image


def to_mnist(ink) -> np.ndarray:
    """A drawing (H×W, values in [0, 1], 0 = paper) as an MNIST-style 28×28 float32 image.

    Crop to the ink, scale the longer side to 20 pixels keeping the aspect ratio, and place the
    result in 28×28 by its centre of mass. Raises :class:`EmptyDrawingError` for a blank drawing.
    """
    return place_by_center_of_mass(scale_to_box(crop_to_ink(check_ink(ink))))
