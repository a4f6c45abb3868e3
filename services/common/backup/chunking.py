"""Content-defined chunking: cut points that depend on the bytes around them, not on offsets.

An insertion or deletion therefore moves only the cut points near it, and every other chunk
keeps its content and its name (sha256). Sizes: at least ``MIN_CHUNK`` (2 KiB), at most
``MAX_CHUNK`` (32 KiB), about ``AVG_CHUNK`` (8 KiB) on average.

The rolling hash is computed for every position at once with Python's big integers, which
keeps it fast without a compiled extension (a 5 MB file is cut in about 30 ms):

1. every byte goes through a fixed random permutation (``bytes.translate``), so text with a
   small alphabet looks like random bytes;
2. the result, read as one little-endian integer, is multiplied by a fixed random 256-bit
   constant. Byte ``i`` of the product is a mix of the 32 input bytes ending at ``i`` (the
   carries from lower bytes change it only in the rare case of long runs of 0xff);
3. a position ``i`` is a candidate cut when product byte ``i`` is zero and product byte
   ``i - 1`` is below 11: a chance of 11/65536, about one in 5,960. With the 2 KiB minimum
   that gives chunks of about 8 KiB.

``bytes.find`` walks the zero bytes of the product, so the Python loop runs only about once
per 256 bytes. Large inputs are cut in segments of ``SEGMENT`` bytes that overlap by
``OVERLAP`` bytes, so the hash of a position always sees its full window.
"""

from __future__ import annotations

import random

MIN_CHUNK = 2 * 1024
AVG_CHUNK = 8 * 1024
MAX_CHUNK = 32 * 1024
SEGMENT = 8 * 1024 * 1024
OVERLAP = 64

# Fixed for ever: changing them changes every cut point (and so every chunk's name). They
# come from a seeded generator so that the constants are reproducible and reviewable.
_RNG = random.Random(0x6275_7272_6F77)  # "burrow"
_PERMUTATION = bytes(_RNG.sample(range(256), 256))
_MULTIPLIER = _RNG.getrandbits(256) | 1 | (1 << 255)
_LOW_LIMIT = 11


def _candidates(data: bytes | memoryview, start: int, end: int) -> list[int]:
    """Offsets ``p`` in ``[start, end)`` where a chunk may end just after byte ``p``."""
    lead = max(0, start - OVERLAP)
    piece = bytes(data[lead:end])
    number = int.from_bytes(piece.translate(_PERMUTATION), "little")
    product = (number * _MULTIPLIER).to_bytes(len(piece) + 33, "little")
    found: list[int] = []
    limit = len(piece)
    first = max(1, start - lead)
    index = product.find(0, first, limit)
    while index >= 0:
        if product[index - 1] < _LOW_LIMIT:
            found.append(lead + index)
        index = product.find(0, index + 1, limit)
    return found


def cut_points(data: bytes | memoryview) -> list[int]:
    """The end offsets of the chunks of ``data`` (the last one is ``len(data)``).

    Empty data has no chunks (an empty list).
    """
    size = len(data)
    if size == 0:
        return []
    cuts: list[int] = []
    last = 0
    for segment_start in range(0, size, SEGMENT):
        segment_end = min(size, segment_start + SEGMENT)
        for position in _candidates(data, segment_start, segment_end):
            end = position + 1
            while end - last > MAX_CHUNK:
                last += MAX_CHUNK
                cuts.append(last)
            if end - last >= MIN_CHUNK:
                cuts.append(end)
                last = end
    while size - last > MAX_CHUNK:
        last += MAX_CHUNK
        cuts.append(last)
    if last < size:
        cuts.append(size)
    return cuts


def split(data: bytes) -> list[bytes]:
    """``data`` cut into its chunks."""
    view = memoryview(data)
    pieces: list[bytes] = []
    start = 0
    for end in cut_points(view):
        pieces.append(bytes(view[start:end]))
        start = end
    return pieces
