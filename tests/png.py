"""PNG files in tests: the signature, and the size from the IHDR chunk the standard puts first."""
import struct

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) of the PNG ``data``; fails unless it is a PNG."""
    assert data[:8] == PNG
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert kind == b"IHDR" and length == 13
    return width, height
