"""A small PNG reader (standard library only) for checking the Teams app icons.

Pillow is not a project dependency, and the checks need little: the image size from IHDR, and for the
outline icon the RGBA value of every pixel. Chunk CRCs are verified, so a truncated or corrupted file
is reported as such rather than misread.

Decoded: 8-bit greyscale, RGB, palette (with tRNS transparency), greyscale+alpha and RGBA, not
interlaced — what image tools write for icons. Other variants (16-bit, sub-byte depths, Adam7) raise
`PngError` with the reason, which the validator reports like any other problem.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

Pixel = tuple[int, int, int, int]


class PngError(ValueError):
    """Not a PNG, a damaged one, or a variant this reader does not decode."""


@dataclass(frozen=True)
class PngInfo:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlaced: bool

    @property
    def has_alpha_channel(self) -> bool:
        return self.color_type in (4, 6)

    @property
    def mode(self) -> str:
        return f"{COLOR_TYPES.get(self.color_type, f'type {self.color_type}')} {self.bit_depth}-bit"


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    chunks: list[tuple[bytes, bytes]] = []
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError("truncated chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body_end = pos + 8 + length
        if body_end + 4 > len(data):
            raise PngError(f"truncated {kind.decode('latin-1')} chunk")
        body = data[pos + 8:body_end]
        (crc,) = struct.unpack(">I", data[body_end:body_end + 4])
        if zlib.crc32(kind + body) != crc:
            raise PngError(f"bad CRC in {kind.decode('latin-1')} chunk")
        chunks.append((kind, body))
        pos = body_end + 4
        if kind == b"IEND":
            return chunks
    raise PngError("no IEND chunk (truncated file)")


def _info(chunks: list[tuple[bytes, bytes]]) -> PngInfo:
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise PngError("first chunk is not a valid IHDR")
    width, height, depth, color_type, compression, filter_method, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if color_type not in COLOR_TYPES or compression != 0 or filter_method != 0 or width == 0 or height == 0:
        raise PngError("invalid IHDR values")
    return PngInfo(width, height, depth, color_type, interlace == 1)


def read_info(data: bytes) -> PngInfo:
    """Size and pixel format, after checking the file's structure and CRCs."""
    return _info(_chunks(data))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytearray]:
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise PngError(f"image data is {len(raw)} bytes, expected {height * (stride + 1)}")
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        row = bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:      # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:    # Up
            for i in range(stride):
                row[i] = (row[i] + previous[i]) & 0xFF
        elif kind == 3:    # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:    # Paeth
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                upper_left = previous[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + _paeth(left, previous[i], upper_left)) & 0xFF
        elif kind != 0:
            raise PngError(f"unknown filter type {kind} in row {y}")
        rows.append(row)
        previous = row
    return rows


def read_rgba(data: bytes) -> tuple[PngInfo, list[Pixel]]:
    """Every pixel as (r, g, b, a), row by row."""
    chunks = _chunks(data)
    info = _info(chunks)
    if info.bit_depth != 8:
        raise PngError(f"{info.mode} PNG: only 8-bit images are decoded")
    if info.interlaced:
        raise PngError("interlaced PNG: not decoded")
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as exc:
        raise PngError(f"image data does not decompress: {exc}") from None
    bpp = CHANNELS[info.color_type]
    rows = _unfilter(raw, info.width, info.height, bpp)

    palette: list[Pixel] = []
    transparent: bytes = b""
    for kind, body in chunks:
        if kind == b"PLTE":
            palette = [(body[i], body[i + 1], body[i + 2], 255) for i in range(0, len(body) - 2, 3)]
        elif kind == b"tRNS":
            transparent = body

    pixels: list[Pixel] = []
    for row in rows:
        if info.color_type == 6:
            pixels.extend((row[i], row[i + 1], row[i + 2], row[i + 3]) for i in range(0, len(row), 4))
        elif info.color_type == 4:
            pixels.extend((row[i], row[i], row[i], row[i + 1]) for i in range(0, len(row), 2))
        elif info.color_type == 2:
            key = struct.unpack(">HHH", transparent) if len(transparent) == 6 else None
            for i in range(0, len(row), 3):
                rgb = (row[i], row[i + 1], row[i + 2])
                pixels.append((*rgb, 0 if rgb == key else 255))
        elif info.color_type == 0:
            gray_key = struct.unpack(">H", transparent)[0] if len(transparent) == 2 else None
            pixels.extend((v, v, v, 0 if v == gray_key else 255) for v in row)
        else:
            if not palette:
                raise PngError("palette PNG without a PLTE chunk")
            for index in row:
                if index >= len(palette):
                    raise PngError(f"palette index {index} out of range")
                r, g, b, _ = palette[index]
                pixels.append((r, g, b, transparent[index] if index < len(transparent) else 255))
    return info, pixels
