"""Depth maps on disk: 16-bit PNG, EXR, float/16-bit TIFF and .npy, read and written (atomically).

Reading gives float32 HxW. Integer files are scaled to 0..1 (16-bit: /65535, 8-bit: /255); float files
(EXR, float TIFF, .npy) keep their values. Non-finite pixels are replaced by the farthest finite value
(the smallest for relative inverse depth, the largest for metric depth), and so are zero or negative metric
distances; a map with more than half of its pixels invalid is refused, saying what was found. Only real
numbers in 2 dimensions (HxW, HxWx1 or 1xHxW) are depth maps: complex, boolean or object arrays are refused.
"""

import os
import secrets
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from . import images
from .errors import DepthError, ImageError

FORMATS = {"png16": ".png", "exr": ".exr", "npy": ".npy"}
# Channel names tried, in order, when a depth map is read from an EXR file.
_EXR_DEPTH_CHANNELS = ("Y", "Z", "depth", "R", "V")
# A map with more invalid pixels than this is refused: filling them would invent most of the scene.
MAX_INVALID_FRACTION = 0.5


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)  # never unpickle: a .npy from elsewhere could run code
    except (OSError, ValueError, EOFError) as exc:
        raise ImageError(f"{images.quoted_name(path)} is not a readable .npy array ({exc}).") from exc


def _read_exr(path: Path) -> np.ndarray:
    planes = images.read_exr_planes(path)
    for channel in _EXR_DEPTH_CHANNELS:
        if channel in planes:
            return planes[channel]
    if len(planes) == 1:
        return next(iter(planes.values()))
    raise ImageError(f"{images.quoted_name(path)} has no depth channel (looked for {', '.join(_EXR_DEPTH_CHANNELS)}).")


def _read_pillow(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                images.check_size(path, *image.size)
                image.load()
                mode = image.mode
                if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
                    return np.asarray(image.convert("I"), dtype=np.float32) / 65535.0
                if mode == "I":  # 16-bit greyscale PNGs open as 32-bit "I" holding 0..65535
                    return np.asarray(image, dtype=np.float32) / 65535.0
                if mode == "F":
                    return np.asarray(image, dtype=np.float32)
                if mode != "L":
                    image = image.getchannel(0) if image.mode in ("RGB", "RGBA", "LA") else image.convert("L")
                return np.asarray(image, dtype=np.float32) / 255.0
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{images.quoted_name(path)} claims a size {images.BOMB_REASON}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{images.quoted_name(path)} is not a readable image (corrupt, or not an image file)."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{images.quoted_name(path)} is corrupt or truncated and cannot be read ({exc}).") from exc


def load_depth_file(path, *, kind: str = "INVERSE") -> np.ndarray:
    """A depth map file as float32 HxW (row 0 = top); see the module docstring for scaling and NaN handling."""
    return read_depth_map(path, kind=kind)[0]


def read_depth_map(path, *, kind: str = "INVERSE") -> tuple[np.ndarray, str]:
    """(depth, warning): `load_depth_file`'s map plus one sentence when it is usable but suspicious (a
    relative map with no variation gives a flat object), else ""."""
    path = Path(path)
    images.check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        depth = _read_npy(path)
    elif images.is_exr(path):
        depth = _read_exr(path)
    else:
        depth = _read_pillow(path)
    depth = np.asarray(depth)
    if depth.ndim == 3 and depth.shape[0] == 1:
        depth = depth[0]  # [1, H, W] as a network writes it
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    real_number = np.issubdtype(depth.dtype, np.integer) or np.issubdtype(depth.dtype, np.floating)
    if depth.ndim != 2 or not real_number:
        what = "complex" if np.issubdtype(depth.dtype, np.complexfloating) else str(depth.dtype)
        raise ImageError(
            f"{images.quoted_name(path)} holds a {what} array of shape {list(depth.shape)}, not an HxW depth map "
            "of real numbers."
        )
    images.check_size(path, depth.shape[1], depth.shape[0])
    depth = depth.astype(np.float32)
    # Metric depth is a distance in front of the camera: zero or negative puts the mesh on or behind it.
    valid = np.isfinite(depth) & (depth > 0) if kind == "DEPTH" else np.isfinite(depth)
    if not valid.all():
        _refuse_mostly_invalid(path, depth, valid, kind)
        far = depth[valid].min() if kind == "INVERSE" else depth[valid].max()
        depth = np.where(valid, depth, far)
    warning = ""
    if kind == "INVERSE" and depth.max() - depth.min() <= 1e-6 * max(1.0, abs(float(depth.max()))):
        warning = f"{images.quoted_name(path)} has the same depth everywhere, so the photo object is flat."
    return np.ascontiguousarray(depth, dtype=np.float32), warning


def _refuse_mostly_invalid(path: Path, depth: np.ndarray, valid: np.ndarray, kind: str) -> None:
    if not valid.any() and kind == "INVERSE":
        raise ImageError(f"{images.quoted_name(path)} contains no finite depth values (all NaN or infinite).")
    invalid_fraction = 1.0 - np.count_nonzero(valid) / valid.size
    if invalid_fraction <= MAX_INVALID_FRACTION:
        return
    with np.errstate(invalid="ignore"):
        found = [
            name
            for name, mask in (("NaN or infinite", ~np.isfinite(depth)), ("negative", depth < 0), ("zero", depth == 0))
            if mask.any()
        ]
    what = ", ".join(found[:-1]) + " or " + found[-1] if len(found) > 1 else found[0]
    usable = "metric depth map (distances must be positive)" if kind == "DEPTH" else "depth map"
    raise ImageError(
        f"{images.quoted_name(path)} is not a usable {usable}: {max(1, round(100 * invalid_fraction))} % of its "
        f"pixels are {what}."
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _write_png16(stream, depth: np.ndarray) -> None:
    """16-bit greyscale PNG, encoded here rather than by Pillow: the "Sub" filter suits smooth depth maps, so
    zlib level 1 gives files ~20 % smaller than Pillow's in ~60 % of its time (this is the batch tool's
    largest cost after decoding and inference)."""
    height, width = depth.shape
    levels = np.round(np.clip(depth, 0.0, 1.0) * 65535.0).astype(">u2").view(np.uint8).reshape(height, width * 2)
    rows = np.empty((height, width * 2 + 1), np.uint8)
    rows[:, 0] = 1  # filter type Sub: each byte minus the same byte of the previous pixel (2 bytes back)
    rows[:, 1:3] = levels[:, :2]
    np.subtract(levels[:, 2:], levels[:, :-2], out=rows[:, 3:])  # uint8 arithmetic wraps, as PNG requires
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)  # 16-bit greyscale, no interlace
    stream.write(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


def _write_exr(path: str, depth: np.ndarray) -> None:
    import OpenEXR  # lazily, as for reading

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"Y": np.ascontiguousarray(depth, dtype=np.float32)}) as exr:
        exr.write(path)


def write_depth_file(path, depth: np.ndarray, fmt: str = "png16", *, overwrite: bool = False) -> Path:
    """Write an HxW depth map as png16 (0..1 -> 0..65535), exr (float, channel Y) or npy (float32).

    The file is written under a temporary name in the same folder and renamed into place, so a failure
    never leaves a partial file; an existing file is kept (DepthError) unless `overwrite` is True.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise DepthError(f"Unknown depth format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if path.exists() and not overwrite:
        raise DepthError(
            f"{images.quoted_name(path)} already exists; it is kept (overwrite it explicitly to replace it)."
        )
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise DepthError(
            f"A depth map must be 2-D to write {images.quoted_name(path)}, not shaped {list(depth.shape)}."
        )
    # Not tempfile.mkstemp: its files are private (0600) and the rename would keep that; "x" mode creates
    # the file with the user's usual permissions and never clobbers anything.
    temp_name = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}.part"))
    try:
        with open(temp_name, "xb") as stream:
            if fmt == "png16":
                _write_png16(stream, depth)
            elif fmt == "npy":
                np.save(stream, depth, allow_pickle=False)
        if fmt == "exr":
            _write_exr(temp_name, depth)
        if overwrite:
            os.replace(temp_name, path)
        else:
            _link_without_overwrite(Path(temp_name), path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def _link_without_overwrite(temp: Path, path: Path) -> None:
    """Rename `temp` to `path` unless `path` appeared meanwhile (a hard link fails atomically if it exists)."""
    try:
        os.link(temp, path)
    except FileExistsError as exc:
        raise DepthError(
            f"{images.quoted_name(path)} already exists; it is kept (overwrite it explicitly to replace it)."
        ) from exc
    except OSError:  # file systems without hard links (FAT, some network shares): check, then rename
        if path.exists():
            raise DepthError(f"{images.quoted_name(path)} already exists; it is kept.") from None
        os.replace(temp, path)
        return
    temp.unlink()
