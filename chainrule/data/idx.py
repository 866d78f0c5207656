"""Reader for the IDX format that MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number -- two zero bytes, a type code, the number
of dimensions -- then one big-endian uint32 per dimension, then the values in
C order, big-endian. The files are often gzipped; we look at the first two bytes
(the gzip magic ``1f 8b``) rather than trusting the file name.

A damaged download is the usual way to meet a bad IDX file, so every check says
which file, what was expected and what was found, instead of letting NumPy fail
later with a reshape error.
"""
import gzip
import os
import struct
import zlib

import numpy as np

from ..errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

# type code -> big-endian dtype, as listed in the format's description
TYPE_CODES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Read an IDX file (plain or gzipped) into an array of the header's shape.

    The array has the header's dtype in native byte order (uint8 for MNIST
    images and labels). Raises :class:`DataError` for a missing or unreadable
    file, a bad magic number, an unknown type code, or a payload whose length
    does not match the dimensions in the header.
    """
    path = os.fspath(path)
    raw = _read_bytes(path)

    if len(raw) < 4:
        raise DataError(f"{path}: expected a 4-byte IDX magic number, found a file of "
                        f"{len(raw)} bytes")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file; expected a magic number starting with "
                        f"0x0000, found 0x{raw[:4].hex()}")
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} in magic number "
                        f"0x{raw[:4].hex()}; expected one of {known}")

    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated header; expected {ndim} dimension sizes "
                        f"({header_size} header bytes), found {len(raw)} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])

    dtype = TYPE_CODES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header_size
    if found < expected:
        raise DataError(f"{path}: truncated file; header says shape {shape} of {dtype.name} "
                        f"({expected} data bytes), found {found} data bytes")
    if found > expected:
        raise DataError(f"{path}: {found - expected} unexpected bytes after the data; header "
                        f"says shape {shape} of {dtype.name} ({expected} data bytes), "
                        f"found {found}")

    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    # native byte order and a writable array the caller owns
    return data.astype(dtype.newbyteorder("="))


def _read_bytes(path):
    """The file's bytes, decompressed when it starts with the gzip magic."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip data ({e}); expected a complete "
                        f"gzip stream holding an IDX file") from None
