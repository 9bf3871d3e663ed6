"""A small web app: draw a digit, see what the model reads and how sure it is.

Start it (after running the notebook, which exports the model) from the repository root::

    python -m projects.digit_recognizer.app --model artifacts/digit_recognizer/digit_cnn.pt2 --port 8000

then open http://127.0.0.1:8000. ``GET /`` serves the page (``static/index.html``, no external
files); ``POST /predict`` takes a drawing as JSON and answers with the probabilities:

    request:  {"width": 280, "height": 280, "pixels": [78 400 ints, 0 = paper ... 255 = ink, row by row]}
    200:      {"digit": 7, "probabilities": [10 floats summing to 1], "image": 28×28 model input}
    400:      the body is not JSON;   413: the body is too large
    422:      anything else wrong with the drawing, or nothing drawn; {"detail": "what and how to fix it"}

An empty canvas is a 422 with the detail "nothing drawn: …", not a guess: a prediction for no
ink would be a made-up answer, and the page shows the message instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from projects.digit_recognizer.predict import (
    DEFAULT_MODEL_PATH,
    ModelNotFoundError,
    load_exported_model,
    predict_drawing,
)
from projects.digit_recognizer.preprocess import EmptyDrawingError

#: The page's canvas is CANVAS_SIZE × CANVAS_SIZE pixels, and /predict accepts exactly that.
CANVAS_SIZE = 280
PAGE = Path(__file__).parent / "static" / "index.html"
MAX_BODY_BYTES = 2_000_000


class DrawingError(ValueError):
    """The request does not hold a valid drawing; the message says what is wrong."""


def parse_drawing(payload: object) -> np.ndarray:
    """The ink of a ``/predict`` payload as a float32 array ``[280, 280]`` in [0, 1].

    Strict: an object with exactly the keys ``width``, ``height`` (both 280) and ``pixels``
    (a flat list of 280·280 integers 0-255, row by row). Anything else raises
    :class:`DrawingError` with a message for the client.
    """
    if not isinstance(payload, dict):
        raise DrawingError(f"the body must be a JSON object with width, height and pixels, "
                           f"got a JSON {type(payload).__name__}")
    expected = {"width", "height", "pixels"}
    if set(payload) != expected:
        missing, extra = sorted(expected - set(payload)), sorted(set(payload) - expected)
        raise DrawingError("the body must have exactly the keys width, height and pixels"
                           + (f"; missing: {', '.join(missing)}" if missing else "")
                           + (f"; unexpected: {', '.join(extra)}" if extra else ""))
    for key in ("width", "height"):
        value = payload[key]
        if isinstance(value, bool) or not isinstance(value, int) or value != CANVAS_SIZE:
            raise DrawingError(f"{key} must be {CANVAS_SIZE} (the canvas is {CANVAS_SIZE}×"
                               f"{CANVAS_SIZE}), got {value!r}")
    pixels = payload["pixels"]
    if not isinstance(pixels, list):
        raise DrawingError(f"pixels must be a list of {CANVAS_SIZE * CANVAS_SIZE} integers, "
                           f"got a JSON {type(pixels).__name__}")
    if len(pixels) != CANVAS_SIZE * CANVAS_SIZE:
        raise DrawingError(f"pixels must have {CANVAS_SIZE}×{CANVAS_SIZE} = "
                           f"{CANVAS_SIZE * CANVAS_SIZE} values (row by row), got {len(pixels)}")
    if not all(type(value) is int for value in pixels):  # bool, float, str, null and lists are not
        raise DrawingError("pixels must all be integers from 0 (paper) to 255 (ink)")
    ink = np.asarray(pixels, dtype=np.int64)
    if ink.min() < 0 or ink.max() > 255:
        raise DrawingError(f"pixels must be integers from 0 (paper) to 255 (ink), got values "
                           f"from {ink.min()} to {ink.max()}")
    return (ink.reshape(CANVAS_SIZE, CANVAS_SIZE) / 255).astype(np.float32)


def create_app(model_path: str | os.PathLike = DEFAULT_MODEL_PATH) -> FastAPI:
    """The FastAPI app serving the model at ``model_path`` (loaded now: a missing file fails here)."""
    model = load_exported_model(model_path)
    app = FastAPI(title="Digit recognizer", docs_url=None, redoc_url=None)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE, media_type="text/html")

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"the body is larger than {MAX_BODY_BYTES} bytes"},
                                status_code=413)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"detail": "the body is not valid JSON: send "
                                 '{"width": 280, "height": 280, "pixels": [...]}'}, status_code=400)
        try:
            ink = parse_drawing(payload)
            result = await run_in_threadpool(predict_drawing, model, ink)
        except (DrawingError, EmptyDrawingError) as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        return JSONResponse(result)

    return app


def main(argv: list[str] | None = None) -> int:
    """Command line: load the model, then serve the app with uvicorn until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m projects.digit_recognizer.app",
                                     description="Serve the digit recognizer web app.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL_PATH),
                        help=f"the exported model (.pt2) to serve (default: {DEFAULT_MODEL_PATH})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    args = parser.parse_args(argv)
    try:
        app = create_app(args.model)
    except (ModelNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import uvicorn

    print(f"Digit recognizer: open http://{args.host}:{args.port} (Ctrl+C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
