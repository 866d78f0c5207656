"""Fashion-MNIST: the real files when installed, and the download path with a fake opener.

No test here touches the network: an autouse fixture replaces the opener with
one that fails the test, and the download tests serve bytes from a dict.
"""
import gzip
import hashlib
import io
import os
import struct
from urllib.error import URLError

import numpy as np
import pytest

from chainrule.data import fashion_mnist as fm
from chainrule.data import load
from chainrule.errors import DataError


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    def refuse(url, timeout=None):
        pytest.fail(f"test tried to open {url}")

    monkeypatch.setattr(fm, "urlopen", refuse)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache-root"))


def idx_gz(code_shape, payload):
    shape = code_shape
    header = bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return gzip.compress(header + payload)


def fake_files(n_train=3, n_test=2):
    """Tiny but well-formed stand-ins for the four files: name -> gz bytes."""
    train = np.zeros((n_train, 28, 28), dtype=np.uint8)
    train[0, 0, 0], train[1, 27, 27], train[2, 5, 6] = 255, 51, 102
    test = np.full((n_test, 28, 28), 255, dtype=np.uint8)
    return {
        fm.TRAIN_IMAGES: idx_gz((n_train, 28, 28), train.tobytes()),
        fm.TRAIN_LABELS: idx_gz((n_train,), bytes([9, 0, 4])),
        fm.TEST_IMAGES: idx_gz((n_test, 28, 28), test.tobytes()),
        fm.TEST_LABELS: idx_gz((n_test,), bytes([1, 7])),
    }


def check_fake(data, dtype=np.float32):
    X_train, y_train, X_test, y_test = data
    assert X_train.shape == (3, 784) and X_test.shape == (2, 784)
    assert X_train.dtype == dtype and X_test.dtype == dtype
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert y_train.tolist() == [9, 0, 4] and y_test.tolist() == [1, 7]
    assert X_train[0, 0] == 1.0
    assert X_train[1, 783] == pytest.approx(0.2)       # 51 / 255
    assert X_train[2, 5 * 28 + 6] == pytest.approx(0.4)  # 102 / 255
    assert X_train.sum() == pytest.approx(1.6, rel=1e-6)
    assert np.all(X_test == 1.0)


def serve(monkeypatch, files, calls):
    def opener(url, timeout=None):
        calls.append(url)
        return io.BytesIO(files[url[len(fm.BASE_URL):]])

    monkeypatch.setattr(fm, "urlopen", opener)


@pytest.fixture
def no_system_copy(monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "not-installed"))


@pytest.mark.skipif(not os.path.isdir(fm.SYSTEM_DIR),
                    reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist():
    X_train, y_train, X_test, y_test = load("fashion-mnist")
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert X_test.min() == 0.0 and X_test.max() == 1.0
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_reads_data_dir(tmp_path):
    for name, data in fake_files().items():
        (tmp_path / name).write_bytes(data)
    check_fake(fm.load_fashion_mnist(data_dir=tmp_path))
    check_fake(load("fashion-mnist", data_dir=str(tmp_path), dtype="float64"), np.float64)


def test_download_into_cache_with_hash_check(monkeypatch, tmp_path, no_system_copy):
    files = fake_files()
    monkeypatch.setattr(fm, "SHA256", {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    calls = []
    serve(monkeypatch, files, calls)

    check_fake(fm.load_fashion_mnist())
    cache = tmp_path / "cache-root" / "fashion-mnist"
    assert sorted(calls) == sorted(fm.BASE_URL + n for n in fm.FILES)
    assert sorted(os.listdir(cache)) == sorted(fm.FILES)  # no temporary files left
    for name, data in files.items():
        assert (cache / name).read_bytes() == data

    calls.clear()
    check_fake(fm.load_fashion_mnist())  # now found in the cache
    assert calls == []


def test_only_missing_files_are_downloaded(monkeypatch, tmp_path, no_system_copy):
    files = fake_files()
    monkeypatch.setattr(fm, "SHA256", {n: hashlib.sha256(b).hexdigest() for n, b in files.items()})
    cache = tmp_path / "cache-root" / "fashion-mnist"
    cache.mkdir(parents=True)
    (cache / fm.TRAIN_IMAGES).write_bytes(files[fm.TRAIN_IMAGES])
    calls = []
    serve(monkeypatch, files, calls)
    check_fake(fm.load_fashion_mnist())
    assert sorted(calls) == sorted(fm.BASE_URL + n for n in fm.FILES if n != fm.TRAIN_IMAGES)


def test_hash_mismatch_deletes_download(monkeypatch, tmp_path, no_system_copy):
    files = fake_files()
    # the canonical hashes stay in place, so the fake bytes cannot match them
    calls = []
    serve(monkeypatch, files, calls)
    with pytest.raises(DataError) as e:
        fm.load_fashion_mnist()
    msg = str(e.value)
    assert "SHA-256" in msg and fm.SHA256[fm.TRAIN_IMAGES] in msg
    assert hashlib.sha256(files[fm.TRAIN_IMAGES]).hexdigest() in msg
    cache = tmp_path / "cache-root" / "fashion-mnist"
    assert os.listdir(cache) == []  # neither the temporary file nor a final one
    assert len(calls) == 1  # stops at the first bad file


def test_network_failure_says_what_to_do(monkeypatch, tmp_path, no_system_copy):
    def offline(url, timeout=None):
        raise URLError("Name or service not known")

    monkeypatch.setattr(fm, "urlopen", offline)
    with pytest.raises(DataError) as e:
        load("fashion-mnist")
    msg = str(e.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "--data-dir" in msg and "data_dir=" in msg
    assert os.listdir(tmp_path / "cache-root" / "fashion-mnist") == []


def test_failure_mid_download_leaves_no_file(monkeypatch, tmp_path, no_system_copy):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            raise TimeoutError("timed out")

    monkeypatch.setattr(fm, "urlopen", lambda url, timeout=None: Broken(b""))
    with pytest.raises(DataError, match="timed out"):
        fm.load_fashion_mnist()
    assert os.listdir(tmp_path / "cache-root" / "fashion-mnist") == []


def test_label_count_must_match_images(tmp_path):
    files = fake_files()
    files[fm.TRAIN_LABELS] = idx_gz((2,), bytes([1, 2]))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match="expected 3 labels"):
        fm.load_fashion_mnist(data_dir=tmp_path)
