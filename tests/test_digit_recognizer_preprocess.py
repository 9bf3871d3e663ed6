"""Unit tests of the digit recognizer's preprocessing, augmentation and export (no training)."""

import numpy as np
import pytest
import torch

from projects.digit_recognizer.model import DigitCNN, export_model, load_state_dict_model
from projects.digit_recognizer.predict import (
    ModelNotFoundError,
    load_exported_model,
    predict_probabilities,
)
from projects.digit_recognizer.preprocess import (
    BOX_SIZE,
    EmptyDrawingError,
    center_of_mass,
    crop_to_ink,
    scale_to_box,
    to_mnist,
)
from projects.digit_recognizer.train import random_affine
from utils.data import load_mnist


def ink_box(image, threshold=0.05):
    rows = np.flatnonzero((image >= threshold).any(axis=1))
    cols = np.flatnonzero((image >= threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.fixture(scope="module")
def mnist_test_digits():
    images, labels = load_mnist("test")
    return images[:200, 0].numpy(), labels[:200]


def test_an_mnist_digit_passes_through_almost_unchanged(mnist_test_digits):
    images, _ = mnist_test_digits
    differences = [np.abs(to_mnist(image) - image).mean() for image in images]
    # MNIST digits are already cropped, scaled to 20 and centred; most come back identical
    assert np.median(differences) < 1e-3
    assert np.mean(np.array(differences) < 0.02) > 0.9


def test_a_small_digit_in_a_corner_is_scaled_to_20_pixels_and_centred(mnist_test_digits):
    image = mnist_test_digits[0][0]  # a 7
    canvas = np.zeros((280, 280), dtype=np.float32)
    small = torch.nn.functional.interpolate(torch.from_numpy(image)[None, None], size=(56, 56),
                                            mode="bilinear")[0, 0].numpy()
    canvas[10:66, 200:256] = small
    result = to_mnist(canvas)
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert max(ink_box(result)) in (BOX_SIZE - 1, BOX_SIZE, BOX_SIZE + 1)
    row, col = center_of_mass(result)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    assert 0 <= result.min() and result.max() <= 1


def test_scaling_keeps_the_aspect_ratio():
    bar = np.ones((100, 20), dtype=np.float32)
    assert scale_to_box(bar).shape == (20, 4)
    assert scale_to_box(np.ones((5, 10), dtype=np.float32)).shape == (10, 20)  # small ones grow


def test_crop_finds_the_ink():
    canvas = np.zeros((50, 60), dtype=np.float32)
    canvas[10:20, 30:35] = 1.0
    canvas[0, 0] = 0.01  # dust below the threshold is ignored
    assert crop_to_ink(canvas).shape == (10, 5)


def test_an_empty_drawing_is_a_clear_error():
    with pytest.raises(EmptyDrawingError, match="nothing drawn"):
        to_mnist(np.zeros((280, 280), dtype=np.float32))


@pytest.mark.parametrize("bad, error, message", [
    ([[0.0, 1.0]], TypeError, "NumPy array"),
    (np.zeros((1, 28, 28)), ValueError, "2-D"),
    (np.zeros((0, 5)), ValueError, "empty"),
    (np.full((28, 28), 255.0), ValueError, r"\[0, 1\]"),
    (np.full((28, 28), np.nan), ValueError, "NaN"),
    (np.full((28, 28), "a"), TypeError, "numbers"),
])
def test_bad_drawings_get_clear_errors(bad, error, message):
    with pytest.raises(error, match=message):
        to_mnist(bad)


def test_random_affine_keeps_shape_and_range_and_is_seeded():
    images = load_mnist("val")[0][:16]
    first = random_affine(images, generator=torch.Generator().manual_seed(0))
    again = random_affine(images, generator=torch.Generator().manual_seed(0))
    assert first.shape == images.shape and torch.equal(first, again)
    assert not torch.equal(first, images)
    assert first.min() >= 0 and first.max() <= 1
    with pytest.raises(ValueError, match="batch"):
        random_affine(images[0])


def test_export_round_trip(tmp_path):
    torch.manual_seed(0)
    model = DigitCNN().train()
    paths = export_model(model, tmp_path / "export")
    assert model.training, "export_model exports a copy and leaves the model as it was"
    model.eval()
    images = torch.rand(5, 1, 28, 28)
    exported = load_exported_model(paths["exported"])
    reloaded = load_state_dict_model(paths["state_dict"])
    with torch.no_grad():
        expected = model(images).softmax(dim=1)
    torch.testing.assert_close(predict_probabilities(exported, images), expected)
    torch.testing.assert_close(predict_probabilities(reloaded, images[:, 0]), expected)
    with pytest.raises(ValueError, match=r"\[B, 1, 28, 28\]"):
        predict_probabilities(exported, torch.rand(2, 3, 28, 28))
    with pytest.raises(TypeError, match="nn.Module"):
        export_model("not a model", tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_a_missing_or_wrong_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="run the notebook"):
        load_exported_model(tmp_path / "missing.pt2")
    junk = tmp_path / "junk.pt2"
    junk.write_text("not a model")
    with pytest.raises(ValueError, match="not a torch.export program"):
        load_exported_model(junk)
