"""Helpers for the depth engine tests: real photo files written with Pillow (no mocks)."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

REPO_ROOT = Path(__file__).resolve().parents[2]


def split_photo(width: int, height: int) -> np.ndarray:
    """Left half black, right half white: the tiny test model sees the right half as near (depth 1)."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, width // 2 :] = 255
    return pixels


def save_jpeg(path: Path, pixels: np.ndarray, orientation: int | None = None, focal_35mm: int | None = None):
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if focal_35mm is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.FocalLengthIn35mmFilm] = focal_35mm
    Image.fromarray(pixels).save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_rgb16(path: Path, pixels: np.ndarray) -> Path:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one), from an HxWx3 uint16 array."""
    height, width = pixels.shape[:2]
    big_endian = pixels.astype(">u2")
    rows = b"".join(b"\0" + big_endian[y].tobytes() for y in range(height))  # filter 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(rows)) + _png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims a size in its header but holds no pixel data (a cheap decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 16)  # a few bytes of pixel data: far from what the header promises
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def run_depth_solve(*args) -> subprocess.CompletedProcess:
    """tools/depth_solve.py with `args`, as a user runs it."""
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "depth_solve.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
