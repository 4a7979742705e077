"""Photo loading: EXIF orientation and focal length, every pixel format, and every bad file refused clearly."""

import os

import numpy as np
import pytest
from PIL import Image

from addon.depth import ImageError, load_photo, read_photo_info
from addon.depth.images import MAX_PHOTO_PIXELS

from .helpers import png_header_only, png_rgb16, save_jpeg, split_photo


def corner_photo() -> np.ndarray:
    """60x40 grey photo with a red top-left corner, to see where rotations put it."""
    pixels = np.full((40, 60, 3), 128, dtype=np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    return pixels


@pytest.mark.parametrize(
    ("orientation", "red_corner"),
    [(1, (0, 0)), (3, (-1, -1)), (6, (0, -1)), (8, (-1, 0))],
)
def test_exif_orientation_is_applied(tmp_path, orientation, red_corner):
    path = save_jpeg(tmp_path / "rotated.jpg", corner_photo(), orientation=orientation)
    info = read_photo_info(path)
    pixels = load_photo(path)
    transposed = orientation in (6, 8)
    assert info.exif_orientation == orientation
    assert info.size == ((40, 60) if transposed else (60, 40))
    assert (pixels.shape[1], pixels.shape[0]) == info.size
    row, col = red_corner
    assert pixels[row, col, 0] > 200 and pixels[row, col, 1] < 60


def test_focal_length_35mm_is_read_and_absent_is_none(tmp_path):
    with_focal = save_jpeg(tmp_path / "focal.jpg", corner_photo(), focal_35mm=28)
    without = save_jpeg(tmp_path / "plain.jpg", corner_photo())
    assert read_photo_info(with_focal).focal_length_35mm == 28.0
    assert read_photo_info(without).focal_length_35mm is None
    assert read_photo_info(without).exif_orientation == 1


def test_large_jpeg_is_decoded_reduced_to_max_size(tmp_path):
    path = save_jpeg(tmp_path / "big.jpg", split_photo(2400, 1600))
    pixels = load_photo(path, max_size=256)
    assert pixels.shape == (171, 256, 3)
    assert pixels[:, :100].mean() < 10 and pixels[:, -100:].mean() > 245


def _save(path, image, **options):
    image.save(path, **options)
    return path


@pytest.mark.parametrize(
    ("file_name", "make", "expected_rgb"),
    [
        ("rgb.png", lambda: Image.new("RGB", (20, 10), (10, 200, 30)), (10, 200, 30)),
        ("alpha_dropped.png", lambda: Image.new("RGBA", (20, 10), (10, 200, 30, 0)), (10, 200, 30)),
        ("grey_alpha.png", lambda: Image.new("LA", (20, 10), (90, 255)), (90, 90, 90)),
        ("grey.png", lambda: Image.new("L", (20, 10), 77), (77, 77, 77)),
        ("bilevel.png", lambda: Image.new("1", (20, 10), 1), (255, 255, 255)),
        ("palette.png", lambda: Image.new("RGB", (20, 10), (200, 0, 0)).quantize(4), (200, 0, 0)),
        ("grey16.png", lambda: Image.fromarray(np.full((10, 20), 65535 // 2, np.uint16)), (128, 128, 128)),
        ("rgb.tif", lambda: Image.new("RGB", (20, 10), (1, 2, 250)), (1, 2, 250)),
        ("grey16.tif", lambda: Image.fromarray(np.full((10, 20), 65535, np.uint16)), (255, 255, 255)),
        ("float.tif", lambda: Image.fromarray(np.full((10, 20), 0.5, np.float32)), (128, 128, 128)),
        ("rgb.webp", lambda: Image.new("RGB", (20, 10), (0, 0, 255)), (0, 0, 255)),
        ("cmyk.jpg", lambda: Image.new("CMYK", (20, 10), (0, 0, 0, 0)), (255, 255, 255)),
    ],
)
def test_pixel_formats_load_as_rgb8(tmp_path, file_name, make, expected_rgb):
    options = {"lossless": True} if file_name.endswith(".webp") else {}
    path = _save(tmp_path / file_name, make(), **options)
    pixels = load_photo(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (10, 20, 3)
    assert np.abs(pixels.astype(int) - expected_rgb).max() <= 3


def test_16_bit_rgb_png_keeps_its_high_byte(tmp_path):
    pixels = np.zeros((10, 20, 3), np.uint16)
    pixels[..., 0], pixels[..., 1] = 65535, 32768
    assert tuple(load_photo(png_rgb16(tmp_path / "rgb16.png", pixels))[0, 0]) == (255, 128, 0)


def test_palette_with_transparency_loads(tmp_path):
    image = Image.new("RGB", (20, 10), (0, 200, 0)).convert("P")
    path = _save(tmp_path / "transparent_palette.png", image, transparency=0)
    assert load_photo(path).shape == (10, 20, 3)


def test_exr_photo_is_encoded_to_srgb(tmp_path):
    import OpenEXR

    linear = np.full((10, 20), 0.2140, np.float32)  # sRGB 0.5 in linear light
    channels = {"R": linear, "G": linear * 0, "B": np.full_like(linear, 4.0)}  # HDR blue clips to 1
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    path = tmp_path / "linear.exr"
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(path))
    assert read_photo_info(path).size == (20, 10)
    pixels = load_photo(path)
    assert pixels.shape == (10, 20, 3)
    assert abs(int(pixels[0, 0, 0]) - 128) <= 1 and pixels[0, 0, 1] == 0 and pixels[0, 0, 2] == 255


def test_unicode_named_photo_loads(tmp_path):
    path = save_jpeg(tmp_path / "фото 日本 ü.jpg", corner_photo())
    assert load_photo(path).shape == (40, 60, 3)


def _bad_files(tmp_path):
    good = save_jpeg(tmp_path / "good.jpg", split_photo(300, 200)).read_bytes()
    png_1x1 = tmp_path / "one_pixel.png"
    Image.new("RGB", (1, 1)).save(png_1x1)
    (tmp_path / "corrupt.jpg").write_bytes(os.urandom(4096))
    (tmp_path / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "not_an_image.png").write_text("just some text, not pixels\n")
    (tmp_path / "невалидный.jpg").write_bytes(b"\xff\xd8\xff garbage")
    png_header_only(tmp_path / "zero_size.png", 0, 0)
    png_header_only(tmp_path / "huge.png", 30000, 30000)
    (tmp_path / "a_folder.jpg").mkdir()
    return {
        "corrupt.jpg": "not a readable image",
        "truncated.jpg": "truncated",
        "empty.png": "empty",
        "not_an_image.png": "not a readable image",
        "невалидный.jpg": "",
        "zero_size.png": "",
        "one_pixel.png": "at least",
        "huge.png": "megapixel",
        "a_folder.jpg": "folder",
        "missing.jpg": "does not exist",
    }


def test_every_bad_photo_gets_an_error_naming_the_file(tmp_path):
    for file_name, reason in _bad_files(tmp_path).items():
        for read in (load_photo, read_photo_info):
            if read is read_photo_info and file_name == "truncated.jpg":
                continue  # the header is intact: only decoding the pixels finds the damage
            with pytest.raises(ImageError) as caught:
                read(tmp_path / file_name)
            message = str(caught.value)
            assert file_name in message, message
            assert reason in message, message


def test_decompression_bomb_limit_is_above_real_cameras():
    assert 14204 * 10652 < MAX_PHOTO_PIXELS < 30000 * 30000


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root (and Windows) can read a chmod 000 file")
def test_unreadable_photo_is_refused(tmp_path):
    path = save_jpeg(tmp_path / "locked.jpg", corner_photo())
    path.chmod(0)
    try:
        with pytest.raises(ImageError, match="locked.jpg.*permission denied"):
            load_photo(path)
    finally:
        path.chmod(0o644)
