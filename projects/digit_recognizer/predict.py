"""Loading the exported model and predicting digits: the path every request of the app takes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from projects.digit_recognizer.model import DEFAULT_EXPORT_DIR, EXPORTED_NAME
from projects.digit_recognizer.preprocess import IMAGE_SIZE, to_mnist

#: The file the app loads unless told otherwise (relative to the repository root).
DEFAULT_MODEL_PATH = DEFAULT_EXPORT_DIR / EXPORTED_NAME
NOTEBOOK = "projects/digit_recognizer/digit_recognizer.ipynb"


class ModelNotFoundError(FileNotFoundError):
    """The exported model file is not there (the notebook has not been run yet)."""


def load_exported_model(path: str | os.PathLike = DEFAULT_MODEL_PATH):
    """The ``torch.export`` program saved by ``export_model``, as a callable module (CPU).

    A missing file raises :class:`ModelNotFoundError` saying how to make it.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(
            f"model file not found: {path}. Train and export the model first: run the notebook "
            f"{NOTEBOOK} (`make lab`, or `jupyter nbconvert --to notebook --execute {NOTEBOOK}` "
            f"from the repository root); it writes {DEFAULT_MODEL_PATH}. Or pass --model PATH "
            f"to a .pt2 file made by projects.digit_recognizer.model.export_model."
        )
    try:
        return torch.export.load(path).module()
    except Exception as error:  # a file that is not an exported program
        raise ValueError(f"{path} is not a torch.export program (.pt2) saved by export_model: "
                         f"{error}") from error


@torch.no_grad()
def predict_probabilities(model, images) -> torch.Tensor:
    """Class probabilities ``[B, 10]`` for MNIST-style images ``[B, 1, 28, 28]`` or ``[B, 28, 28]``."""
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"images must be [B, 1, 28, 28] or [B, 28, 28], got {tuple(images.shape)}")
    return model(images).softmax(dim=1)


def predict_drawing(model, ink) -> dict:
    """Recognise one drawing (H×W ink in [0, 1]): MNIST-style preprocessing, then the model.

    Returns ``{"digit": int, "probabilities": [10 floats], "image": 28×28 list}`` where ``image``
    is what the model saw. A blank drawing raises ``preprocess.EmptyDrawingError``.
    """
    image = to_mnist(ink)
    probabilities = predict_probabilities(model, image[None])[0]
    return {
        "digit": int(probabilities.argmax()),
        "probabilities": [float(p) for p in probabilities],
        "image": np.round(image, 3).tolist(),
    }
