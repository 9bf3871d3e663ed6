"""The digit recognizer app end to end: a model trained here (briefly, honestly) and exported
with the notebook's export function, its prediction path on real MNIST test digits, the HTTP
endpoint through uvicorn really serving on 127.0.0.1, the page in headless Chromium, and the
error for a missing model file."""

import os
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest
import torch
import uvicorn

from projects.digit_recognizer.app import CANVAS_SIZE, create_app, parse_drawing
from projects.digit_recognizer.model import DigitCNN, export_model
from projects.digit_recognizer.predict import (
    ModelNotFoundError,
    load_exported_model,
    predict_drawing,
    predict_probabilities,
)
from projects.digit_recognizer.preprocess import to_mnist
from projects.digit_recognizer.train import train
from utils.data import load_mnist
from utils.env import seed_everything

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TEST_IMAGES = 3000


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """The project's CNN trained for two epochs on 15 000 training digits (about 8 s on one
    thread), exported with the notebook's export_model into a temporary folder."""
    seed_everything(0)
    images, labels = load_mnist("train")
    model = DigitCNN()
    train(model, images[:15_000], labels[:15_000], epochs=2, progress=False)
    return export_model(model, tmp_path_factory.mktemp("digit_recognizer"))["exported"]


@pytest.fixture(scope="module")
def mnist_test():
    images, labels = load_mnist("test")
    return images[:TEST_IMAGES], labels[:TEST_IMAGES]


@pytest.fixture(scope="module")
def server_url(model_path):
    """The app served by uvicorn on 127.0.0.1 at a free port, in a thread, for this module."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(model_path), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def canvas_from(image: torch.Tensor) -> np.ndarray:
    """An MNIST image [1, 28, 28] drawn on the 280×280 canvas: each pixel becomes 10×10."""
    return np.kron(image[0].numpy(), np.ones((10, 10), dtype=np.float32))


def payload_from(ink: np.ndarray) -> dict:
    pixels = np.round(ink * 255).astype(int).ravel().tolist()
    return {"width": CANVAS_SIZE, "height": CANVAS_SIZE, "pixels": pixels}


# --- the prediction path on real MNIST test digits -----------------------------------------

def test_the_exported_model_reads_mnist_test_digits(model_path, mnist_test):
    images, labels = mnist_test
    model = load_exported_model(model_path)
    direct = predict_probabilities(model, images).argmax(dim=1)
    assert (direct == labels).float().mean() >= 0.97  # reaches about 98% after one short epoch

    # through the app's preprocessing the digits keep their class
    preprocessed = torch.from_numpy(np.stack([to_mnist(image[0]) for image in images]))
    after = predict_probabilities(model, preprocessed).argmax(dim=1)
    assert (after == labels).float().mean() >= 0.97
    assert (after == direct).float().mean() >= 0.98


def test_predict_drawing_on_mnist_digits_drawn_on_the_canvas(model_path, mnist_test):
    images, labels = mnist_test
    model = load_exported_model(model_path)
    results = [predict_drawing(model, canvas_from(image)) for image in images[:300]]
    predicted = torch.tensor([result["digit"] for result in results])
    assert (predicted == labels[:300]).float().mean() >= 0.95
    first = results[0]
    assert len(first["probabilities"]) == 10 and abs(sum(first["probabilities"]) - 1) < 1e-5
    assert np.array(first["image"]).shape == (28, 28)


# --- the HTTP endpoint through uvicorn ------------------------------------------------------

def test_the_page_is_served_without_external_resources(server_url):
    response = httpx.get(server_url + "/")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert "<canvas" in response.text and "/predict" in response.text
    assert "http://" not in response.text and "https://" not in response.text


def test_a_valid_drawing_gets_ten_probabilities(server_url, mnist_test):
    images, labels = mnist_test
    right = 0
    for image, label in zip(images[:20], labels[:20]):
        response = httpx.post(server_url + "/predict", json=payload_from(canvas_from(image)), timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert len(answer["probabilities"]) == 10
        assert abs(sum(answer["probabilities"]) - 1) < 1e-5
        assert answer["digit"] == int(np.argmax(answer["probabilities"]))
        right += answer["digit"] == int(label)
    assert right >= 18


def test_an_empty_canvas_is_a_clear_422(server_url):
    response = httpx.post(server_url + "/predict", json=payload_from(np.zeros((280, 280))))
    assert response.status_code == 422
    assert "nothing drawn" in response.json()["detail"]


VALID = {"width": CANVAS_SIZE, "height": CANVAS_SIZE}


@pytest.mark.parametrize("body, status, message", [
    ({**VALID, "width": 28, "pixels": [0] * (28 * 280)}, 422, "width must be 280"),
    ({**VALID, "pixels": [0] * 100}, 422, "78400 values"),
    ({**VALID, "pixels": [0.5] * (280 * 280)}, 422, "integers"),
    ({**VALID, "pixels": ["0"] * (280 * 280)}, 422, "integers"),
    ({**VALID, "pixels": [True] * (280 * 280)}, 422, "integers"),
    ({**VALID, "pixels": [300] * (280 * 280)}, 422, "0 \\(paper\\) to 255"),
    ({**VALID, "pixels": [-1] * (280 * 280)}, 422, "0 \\(paper\\) to 255"),
    ({**VALID, "pixels": [[0] * 280] * 280}, 422, "78400 values"),
    ({**VALID, "pixels": [[0]] * (280 * 280)}, 422, "integers"),
    ({**VALID, "pixels": None}, 422, "must be a list"),
    ({**VALID, "height": "280", "pixels": []}, 422, "height must be 280"),
    ({"pixels": [0] * (280 * 280)}, 422, "missing: height, width"),
    ({**VALID, "pixels": [], "extra": 1}, 422, "unexpected: extra"),
    ([1, 2, 3], 422, "JSON object"),
])
def test_malformed_drawings_get_clear_4xx(server_url, body, status, message):
    response = httpx.post(server_url + "/predict", json=body)
    assert response.status_code == status, response.text
    assert re.search(message, response.json()["detail"])


def test_a_body_that_is_not_json_is_a_clear_400(server_url):
    response = httpx.post(server_url + "/predict", content=b"this is not json{",
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    response = httpx.post(server_url + "/predict", content=bytes([0xff, 0xfe, 0x00]))
    assert response.status_code == 400


def test_parse_drawing_scales_ink_to_0_1():
    ink = parse_drawing({**VALID, "pixels": [255] + [0] * (280 * 280 - 1)})
    assert ink.shape == (280, 280) and ink.dtype == np.float32 and ink[0, 0] == 1 and ink.sum() == 1


# --- the page in a real browser -------------------------------------------------------------

STROKES = {
    1: [[(140, 45), (140, 235)]],
    7: [[(75, 55), (205, 55), (115, 235)]],
    0: [[(140 + 60 * np.sin(t), 140 - 90 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]],
}


def draw(page, strokes):
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
        page.mouse.up()


@pytest.fixture(scope="module")
def browser_page(server_url):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("DLP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and DLP_REQUIRE_BROWSER=1: run `make browser`")
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` to install Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 640})
        page.goto(server_url + "/")
        yield page
        browser.close()


@pytest.mark.parametrize("digit", sorted(STROKES))
def test_the_page_recognises_a_digit_drawn_with_the_mouse(browser_page, digit):
    page = browser_page
    page.click("#clear")
    draw(page, STROKES[digit])
    page.wait_for_function("document.getElementById('prediction').dataset.digit !== ''",
                           timeout=15_000)
    assert page.locator("#prediction").get_attribute("data-digit") == str(digit)
    assert page.locator("#prediction").inner_text().strip() == str(digit)
    shown = page.locator(".bar .value").all_inner_texts()
    assert len(shown) == 10 and all(text.endswith("%") for text in shown)


# --- a missing model ------------------------------------------------------------------------

def test_a_missing_model_is_a_clear_error(tmp_path):
    missing = tmp_path / "no_model.pt2"
    with pytest.raises(ModelNotFoundError, match="run the notebook"):
        create_app(missing)
    result = subprocess.run([sys.executable, "-m", "projects.digit_recognizer.app", "--model",
                             str(missing), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "model file not found" in result.stderr and "digit_recognizer.ipynb" in result.stderr
    assert "Traceback" not in result.stderr
