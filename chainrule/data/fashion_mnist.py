"""Fashion-MNIST: 70,000 28x28 grey-scale clothing images in 10 classes.

Where the files are looked for, in order:

1. ``data_dir``, when given, else ``/usr/share/datasets/fashion-mnist`` (the
   Debian package ``dataset-fashion-mnist``);
2. the cache: ``$CHAINRULE_DATA/fashion-mnist``, or
   ``~/.cache/chainrule/fashion-mnist`` when ``CHAINRULE_DATA`` is unset;
3. a download of the four canonical files into the cache.

Downloads are checked against SHA-256 sums of the canonical files. Note that the
Debian files hold the same data but are not byte-identical to them (Debian drops
the file name from the gzip header), so they cannot serve as the reference for
the sums; local files are checked by the IDX reader instead.
"""
import hashlib
import logging
import os
import tempfile
from urllib.error import URLError
from urllib.request import urlopen

from .. import backend
from ..errors import DataError
from .idx import read_idx

log = logging.getLogger(__name__)

BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
TIMEOUT = 60  # seconds without data before a download gives up

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the canonical files at BASE_URL (their MD5s are the ones published
# by Zalando Research and used by torchvision).
SHA256 = {
    TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

HOW_TO_GET = ("install the Debian package (apt-get install dataset-fashion-mnist), or "
              "download the four files yourself and pass --data-dir DIR / data_dir=DIR")


def load_fashion_mnist(data_dir=None, dtype="float32"):
    """Return ``(X_train, y_train, X_test, y_test)``.

    Images are flattened to ``(n, 784)`` and scaled to [0, 1] in ``dtype``;
    labels are int64 class indices (names in :data:`CLASSES`). Downloads the
    files into the cache when no directory has them.
    """
    dtype = backend.dtype(dtype)
    folder = find_dir(data_dir)
    if folder is None:
        if data_dir is not None:
            log.warning("%s does not hold the Fashion-MNIST files; trying the cache", data_dir)
        folder = download(cache_dir())

    X_train = _images(os.path.join(folder, TRAIN_IMAGES), dtype)
    y_train = _labels(os.path.join(folder, TRAIN_LABELS), len(X_train))
    X_test = _images(os.path.join(folder, TEST_IMAGES), dtype)
    y_test = _labels(os.path.join(folder, TEST_LABELS), len(X_test))
    return X_train, y_train, X_test, y_test


def cache_dir():
    """Where downloads go: ``$CHAINRULE_DATA/fashion-mnist`` or ``~/.cache/chainrule/...``."""
    root = os.environ.get("CHAINRULE_DATA") or os.path.join(
        os.path.expanduser("~"), ".cache", "chainrule")
    return os.path.join(root, "fashion-mnist")


def find_dir(data_dir=None):
    """The first directory holding all four files, or None."""
    first = data_dir if data_dir is not None else SYSTEM_DIR
    for folder in (first, cache_dir()):
        if all(os.path.isfile(os.path.join(folder, name)) for name in FILES):
            return os.fspath(folder)
    return None


def download(folder):
    """Download the missing files into ``folder``, checking each one's SHA-256.

    Each file is written to a temporary name in ``folder`` and renamed only once
    its hash matches, so an interrupted or corrupt download never looks like a
    good file. Returns ``folder``.
    """
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the cache directory {folder} ({e.strerror or e}); "
                        f"{HOW_TO_GET}") from None
    for name in FILES:
        target = os.path.join(folder, name)
        if not os.path.isfile(target):
            _download_file(BASE_URL + name, target, SHA256[name])
    return folder


def _download_file(url, target, expected_sha256):
    """Fetch ``url`` to ``target`` through a temporary file, checking its hash."""
    log.info("downloading %s", url)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target),
                               prefix=os.path.basename(target) + ".", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urlopen(url, timeout=TIMEOUT) as response:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (URLError, OSError) as e:  # includes timeouts and HTTP errors
                raise DataError(f"Fashion-MNIST is not on this machine and downloading "
                                f"{url} failed ({e}); {HOW_TO_GET}") from None
        found = digest.hexdigest()
        if found != expected_sha256:
            raise DataError(f"download of {url} is corrupt: expected SHA-256 "
                            f"{expected_sha256}, found {found}; the file was deleted, "
                            f"try again or {HOW_TO_GET}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _images(path, dtype):
    """(n, 784) images in [0, 1]."""
    images = read_idx(path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: expected images of shape (n, 28, 28), found {images.shape}")
    # one array in the target dtype, divided in place: no second 60000x784 copy
    scaled = images.reshape(len(images), -1).astype(dtype)
    scaled /= dtype.type(255)
    return scaled


def _labels(path, n):
    """(n,) int64 labels, checked against the image count and the 10 classes."""
    labels = read_idx(path)
    if labels.shape != (n,):
        raise DataError(f"{path}: expected {n} labels (one per image), found shape "
                        f"{labels.shape}")
    if labels.size and labels.max() >= len(CLASSES):
        raise DataError(f"{path}: expected labels 0..{len(CLASSES) - 1}, found "
                        f"{int(labels.max())}")
    return labels.astype("int64")
