"""Reading photos with Pillow (and EXR with OpenEXR): EXIF orientation, focal length, every pixel format.

Conventions, applied everywhere a photo is read:
- EXIF orientation is applied, so row 0 is the top of the photo as the photographer saw it (Blender does not
  apply it when it loads an image, which is why the Blender side asks this module for rotated photos).
- Pixels come back as HxWx3 uint8 sRGB. 16-bit and float greyscale are scaled to 8 bits, palette/CMYK/1-bit
  images are converted by Pillow, and **alpha is dropped** (the colour channels are used as stored): the
  network must see the photo's colours, not a background it never had.
- EXR (linear, possibly HDR) is clipped to 0..1 and encoded with the sRGB curve, since depth networks are
  trained on display-referred photos. OpenEXR is imported only when an EXR is read.
- Photos above MAX_PHOTO_PIXELS or with a side under MIN_PHOTO_SIDE are refused before any decoding.
"""

import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import EpsImagePlugin, ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import ImageError

# 170 MP: above every camera sensor sold (the largest are ~151 MP), below Pillow's own hard limit (179 MP),
# and refuses decompression bombs whose decoded pixels alone would need gigabytes.
MAX_PHOTO_PIXELS = 170_000_000
# A JPEG decoded for a given longer side may come out this much smaller (see `decode_photo`).
DRAFT_SLACK = 0.9
# Below this a depth map is meaningless (and a 1x1 image makes every depth value equal).
MIN_PHOTO_SIDE = 8
BOMB_REASON = (
    f"more than the {MAX_PHOTO_PIXELS // 1_000_000} megapixel limit, so it is refused as a likely corrupt "
    "file or decompression bomb."
)
EXR_SUFFIXES = (".exr",)
# EXIF orientations 5..8 swap width and height.
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}


@dataclass(frozen=True)
class PhotoInfo:
    size: tuple[int, int]  # (width, height) after EXIF orientation
    focal_length_35mm: float | None  # EXIF FocalLengthIn35mmFilm, None when absent or 0
    exif_orientation: int  # 1..8, 1 when absent


def quoted_name(path: Path) -> str:
    """The file's name in quotes, as every error message of the depth engine names a file."""
    return f'"{path.name}"'


def check_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PHOTO_PIXELS:
        raise ImageError(f"{quoted_name(path)} is {width}x{height} pixels, {BOMB_REASON}")
    if min(width, height) < MIN_PHOTO_SIDE:
        raise ImageError(
            f"{quoted_name(path)} is only {width}x{height} pixels; "
            f"a photo needs at least {MIN_PHOTO_SIDE} pixels per side."
        )


def check_file(path: Path) -> None:
    if not path.exists():
        raise ImageError(f"{quoted_name(path)} does not exist ({path}).")
    if path.is_dir():
        raise ImageError(f"{quoted_name(path)} is a folder, not an image file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"{quoted_name(path)} cannot be read: {exc.strerror or exc}.") from exc
    if size == 0:
        raise ImageError(f"{quoted_name(path)} is empty (0 bytes).")


def _open(path: Path) -> Image.Image:
    """Open lazily (header only) and check the size; the caller closes the image."""
    check_file(path)
    try:
        with warnings.catch_warnings():
            # We apply our own limit below; Pillow's warning (or error above 2x its limit) would be less clear.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{quoted_name(path)} claims a size {BOMB_REASON}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{quoted_name(path)} is not a readable image (corrupt, or not an image file).") from exc
    except PermissionError as exc:
        raise ImageError(f"{quoted_name(path)} cannot be read: permission denied.") from exc
    except OSError as exc:
        raise ImageError(f"{quoted_name(path)} cannot be opened: {exc}.") from exc
    try:
        check_size(path, *image.size)
    except ImageError:
        image.close()
        raise
    return image


def _orientation(image: Image.Image) -> int:
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def _focal_length_35mm(image: Image.Image) -> float | None:
    exif_ifd = image.getexif().get_ifd(ExifTags.IFD.Exif)
    value = exif_ifd.get(ExifTags.Base.FocalLengthIn35mmFilm)
    try:
        focal = float(value)
    except (TypeError, ValueError):
        return None
    return focal if focal > 0 else None


def is_exr(path: Path) -> bool:
    return path.suffix.lower() in EXR_SUFFIXES


def _import_openexr(path: Path):
    try:
        import OpenEXR  # lazily: only EXR photos and depth maps need it
    except ImportError as exc:
        raise ImageError(
            f"{quoted_name(path)} is an EXR file, but the OpenEXR Python module is not installed."
        ) from exc
    return OpenEXR


def _exr_size(path: Path) -> tuple[int, int]:
    openexr = _import_openexr(path)
    try:
        low, high = openexr.File(str(path), header_only=True).header()["dataWindow"]
    except Exception as exc:  # OpenEXR raises bare RuntimeErrors for corrupt files
        raise ImageError(f"{quoted_name(path)} is not a readable EXR file ({exc}).") from exc
    return int(high[0] - low[0] + 1), int(high[1] - low[1] + 1)


def _decode(path: Path, image: Image.Image) -> None:
    """Decode every pixel now, raising ImageError naming the file when the data is corrupt or truncated.

    Must come before anything that reads EXIF: for a PNG, `getexif` decodes the whole image, and a decode
    error there would be taken for a damaged EXIF block and leave black pixels behind.
    """
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{quoted_name(path)} claims a size {BOMB_REASON}") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise ImageError(f"{quoted_name(path)} is corrupt or truncated and cannot be decoded ({exc}).") from exc


def _info_from_image(image: Image.Image, stored_size: tuple[int, int] | None = None) -> PhotoInfo:
    """Size, focal length and orientation of an image whose pixels `_decode` has already checked."""
    try:
        orientation = _orientation(image)
        focal = _focal_length_35mm(image)
    except Exception:  # a damaged EXIF block must not make the photo unusable
        orientation, focal = 1, None
    width, height = stored_size or image.size
    if orientation in _TRANSPOSING_ORIENTATIONS:
        width, height = height, width
    return PhotoInfo((width, height), focal, orientation)


def read_photo_info(path) -> PhotoInfo:
    """Size after EXIF orientation, 35 mm-equivalent focal length and orientation, reading only the header."""
    path = Path(path)
    if is_exr(path):
        check_file(path)
        size = _exr_size(path)
        check_size(path, *size)
        return PhotoInfo(size, None, 1)
    with _open(path) as image:
        if image.format == "PNG" and "exif" not in image.info:
            _decode(path, image)  # getexif would decode it anyway (see `_decode`)
        return _info_from_image(image)


def verify_photo(path) -> PhotoInfo:
    """The photo's PhotoInfo, after decoding all of its pixel data without error (ImageError otherwise).

    JPEGs decode at 1/8 scale (Pillow's `draft`): the decoder still reads every byte of the compressed data,
    so truncation and corrupt data are caught for a fraction of a full decode's cost.
    """
    _, info = decode_photo(path, min_size=MIN_PHOTO_SIDE)
    return info


def _to_rgb8(image: Image.Image) -> np.ndarray:
    """Any Pillow mode to HxWx3 uint8 (see the module docstring for what happens to alpha and deep pixels)."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(image.convert("I"), dtype=np.float32)
        # 16-bit greyscale PNG/TIFF arrive as "I" or "I;16"; scale the 0..65535 range down to 8 bits.
        scale = 255.0 / 65535.0 if image.mode != "I" or grey.max(initial=0) > 255 else 1.0
        grey8 = np.clip(grey * scale + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if image.mode == "F":
        grey8 = display_to_uint8(np.asarray(image, dtype=np.float32))
        return np.repeat(grey8[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow warns when a palette with transparency goes straight to RGB
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def read_exr_planes(path: Path) -> dict[str, np.ndarray]:
    """All channels of the first part of an EXR file, as float32 HxW arrays keyed by channel name."""
    openexr = _import_openexr(path)
    try:
        with openexr.File(str(path), separate_channels=True) as exr:
            return {name: np.asarray(ch.pixels, dtype=np.float32) for name, ch in exr.channels().items()}
    except Exception as exc:  # OpenEXR raises bare RuntimeErrors for corrupt files
        raise ImageError(f"{quoted_name(path)} is not a readable EXR file ({exc}).") from exc


def display_to_uint8(values: np.ndarray) -> np.ndarray:
    """Display values 0..1 (floats; NaN counts as 0, out of range is clipped) as 0..255 uint8."""
    return (np.clip(np.nan_to_num(values), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(np.nan_to_num(linear, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
    srgb = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    return (srgb * 255.0 + 0.5).astype(np.uint8)


def _load_exr(path: Path) -> np.ndarray:
    check_file(path)
    check_size(path, *_exr_size(path))
    planes = read_exr_planes(path)
    if all(letter in planes for letter in "RGB"):
        rgb = np.stack([planes["R"], planes["G"], planes["B"]], axis=2)
    elif "Y" in planes:
        rgb = np.repeat(planes["Y"][:, :, None], 3, axis=2)
    else:
        raise ImageError(f"{quoted_name(path)} has no RGB or Y channels (it has {', '.join(sorted(planes))}).")
    return _linear_to_srgb8(rgb)


def fit_size(size: tuple[int, int], max_size: int) -> tuple[int, int]:
    """(width, height) `size` with its aspect kept and its longer side at most `max_size`."""
    width, height = size
    scale = min(1.0, max_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize_to_fit(pixels: np.ndarray, max_size: int | None) -> np.ndarray:
    height, width = pixels.shape[:2]
    if max_size is None or max(width, height) <= max_size:
        return pixels
    size = fit_size((width, height), max_size)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0))


def decode_photo(path, min_size: int | None = None, longer_side: int | None = None) -> tuple[np.ndarray, PhotoInfo]:
    """The photo's EXIF-oriented HxWx3 uint8 pixels and its PhotoInfo, in one pass over the file.

    With `min_size`, a JPEG is decoded at a reduced scale (Pillow's `draft`: the decoder skips detail by
    powers of two, several times faster than a full decode of a 12 MP photo) that keeps both sides at least
    `min_size` pixels, or at full size when it is smaller. With `longer_side` instead, the reduced scale keeps
    the longer side at least DRAFT_SLACK times that (a slight upscale afterwards costs less than decoding at
    twice the size).
    """
    path = Path(path)
    if is_exr(path):
        pixels = _load_exr(path)
        return pixels, PhotoInfo((pixels.shape[1], pixels.shape[0]), None, 1)
    with _open(path) as image:
        stored_size = image.size  # before `draft` scales it down
        if min_size is not None and image.format == "JPEG":
            image.draft("RGB", (min_size, min_size))
        elif longer_side is not None and image.format == "JPEG":
            scale = min(1.0, DRAFT_SLACK * longer_side / max(image.size))
            image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
        _decode(path, image)
        info = _info_from_image(image, stored_size)
        try:
            # Only when needed: exif_transpose copies the image even when there is nothing to turn.
            pixels = _to_rgb8(ImageOps.exif_transpose(image) if info.exif_orientation != 1 else image)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{quoted_name(path)} is corrupt or truncated and cannot be decoded ({exc}).") from exc
    return pixels, info


def load_photo(path, max_size: int | None = None) -> np.ndarray:
    """The photo as HxWx3 uint8, EXIF-oriented; with `max_size`, shrunk so its longer side is at most that
    (JPEGs then decode at reduced size, see `decode_photo`). Raises ImageError naming the file if unreadable.
    """
    pixels, _ = decode_photo(path, max_size)
    return _resize_to_fit(pixels, max_size)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in 0..1 to linear (what Blender holds in the float buffer of a 16-bit or EXR image)."""
    return np.where(srgb <= 0.04045, srgb / 12.92, np.power((srgb + 0.055) / 1.055, 2.4))


def block_means(pixels: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """HxWxC float values averaged over a (columns, rows) grid of equal areas: `grid[1]` x `grid[0]` x C."""
    planes = (Image.fromarray(np.ascontiguousarray(pixels[:, :, c], dtype=np.float32)) for c in range(pixels.shape[2]))
    return np.stack([np.asarray(plane.resize(grid, Image.Resampling.BOX)) for plane in planes], axis=2)


# Pillow formats whose plugin reads only the header (the pixels need a handler or decoder Pillow lacks).
_HEADER_ONLY_FORMATS = {"MPEG"}


def photo_suffixes() -> set[str]:
    """File name suffixes of every format Pillow can decode here (asked of Pillow, so new plugins count), plus
    EXR, which the depth engine reads with OpenEXR."""
    Image.init()
    decodable = {
        name
        for name, (factory, _accept) in Image.OPEN.items()
        if not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))
    } - _HEADER_ONLY_FORMATS
    if not EpsImagePlugin.has_ghostscript():
        decodable.discard("EPS")  # Pillow renders EPS through Ghostscript
    return {suffix for suffix, name in Image.registered_extensions().items() if name in decodable} | {".exr"}


def collect_photos(sources) -> list[Path]:
    """Files as given, folders expanded (non-recursively, sorted) to the photos in them: what the batch tool and
    the video command line take."""
    inputs = []
    suffixes = photo_suffixes()
    for source in map(Path, sources):
        if source.is_dir():
            inputs += sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        else:
            inputs.append(source)  # a missing or non-image file fails on its own, with its reason
    return inputs
