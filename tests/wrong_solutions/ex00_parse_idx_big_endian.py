"""Exercise 0.3 returning the big-endian array as read (the review: passed)."""

import numpy as np

SET = "ex00_tools"
TESTS = ["test_parse_idx_every_type", "test_parse_idx_random_files"]
MATCH = "native byte order"

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes) -> np.ndarray:
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in TYPES:
        raise ValueError("not an IDX file")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise ValueError("header cut short")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(TYPES[data[2]])
    count = int(np.prod(shape))
    if len(data) - 4 - 4 * ndim != count * dtype.itemsize:
        raise ValueError("wrong payload length")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)
