"""IDX reader: files written by hand with struct, read back."""
import gzip
import struct

import numpy as np
import pytest

from chainrule.data import read_idx
from chainrule.errors import DataError


def idx_bytes(code, shape, payload):
    """Header (two zero bytes, type code, ndim, big-endian dims) followed by payload."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_uint8_images_plain(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    values = list(range(2 * 3 * 4))
    path.write_bytes(idx_bytes(0x08, (2, 3, 4), bytes(values)))
    a = read_idx(path)
    assert a.shape == (2, 3, 4)
    assert a.dtype == np.uint8
    assert a[0, 0].tolist() == [0, 1, 2, 3]
    assert a[1, 2, 3] == 23


def test_gzip_detected_by_magic_not_name(tmp_path):
    path = tmp_path / "labels.bin"  # no .gz suffix on purpose
    path.write_bytes(gzip.compress(idx_bytes(0x08, (5,), bytes([3, 1, 4, 1, 5]))))
    a = read_idx(str(path))
    assert a.tolist() == [3, 1, 4, 1, 5]
    assert a.shape == (5,)


def test_big_endian_int32_and_float64_become_native(tmp_path):
    p32 = tmp_path / "i32"
    p32.write_bytes(idx_bytes(0x0C, (3,), struct.pack(">3i", -2, 70000, 1)))
    a = read_idx(p32)
    assert a.tolist() == [-2, 70000, 1]
    assert a.dtype == np.dtype("int32") and a.dtype.isnative

    p64 = tmp_path / "f64"
    p64.write_bytes(idx_bytes(0x0E, (2, 1), struct.pack(">2d", 0.5, -1.25)))
    b = read_idx(p64)
    assert b.shape == (2, 1)
    assert b.dtype == np.float64 and b.dtype.isnative
    assert b[:, 0].tolist() == [0.5, -1.25]


def test_result_is_writable(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_bytes(0x08, (2,), bytes([1, 2])))
    a = read_idx(path)
    a[0] = 9  # not a read-only view of the file's bytes
    assert a.tolist() == [9, 2]


def test_bad_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataError) as e:
        read_idx(path)
    msg = str(e.value)
    assert str(path) in msg and "0x12340801" in msg and "0x0000" in msg


def test_unknown_type_code(tmp_path):
    path = tmp_path / "code"
    path.write_bytes(idx_bytes(0x0A, (1,), b"\x00"))
    with pytest.raises(DataError) as e:
        read_idx(path)
    msg = str(e.value)
    assert str(path) in msg and "0x0A" in msg and "0x08" in msg


def test_truncated_payload(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (2, 28, 28), bytes(1000))))
    with pytest.raises(DataError) as e:
        read_idx(path)
    msg = str(e.value)
    assert str(path) in msg and "truncated" in msg
    assert "1568" in msg and "1000" in msg  # expected 2*28*28 data bytes, found 1000


def test_truncated_header(tmp_path):
    path = tmp_path / "head"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 10))  # 1 of 3 dims
    with pytest.raises(DataError, match="truncated header"):
        read_idx(path)


def test_too_short_for_magic_and_empty(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="4-byte"):
        read_idx(path)


def test_extra_bytes_rejected(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(0x08, (2,), bytes([1, 2, 3])))
    with pytest.raises(DataError, match="1 unexpected bytes"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    data = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope")
