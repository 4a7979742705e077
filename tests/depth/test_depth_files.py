"""Depth map files: reading every supported format, writing atomically, never overwriting by accident."""

import numpy as np
import pytest
from PIL import Image

from addon.depth import DepthError, ImageError, load_depth_file, write_depth_file

from .helpers import png_header_only

RAMP = np.linspace(0.0, 1.0, 48 * 64, dtype=np.float32).reshape(48, 64)


@pytest.mark.parametrize(("fmt", "tolerance"), [("png16", 1 / 65535), ("exr", 0.0), ("npy", 0.0)])
def test_round_trip(tmp_path, fmt, tolerance):
    path = tmp_path / f"depth.{ {'png16': 'png'}.get(fmt, fmt) }"
    assert write_depth_file(path, RAMP, fmt) == path
    loaded = load_depth_file(path)
    assert loaded.dtype == np.float32 and loaded.shape == RAMP.shape
    assert np.abs(loaded - RAMP).max() <= tolerance
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_png16_is_near_bright(tmp_path):
    write_depth_file(tmp_path / "d.png", RAMP, "png16")
    with Image.open(tmp_path / "d.png") as image:
        levels = np.asarray(image)
    assert levels.max() == 65535 and levels[0, 0] == 0


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "depth.npy"
    path.write_bytes(b"precious")
    with pytest.raises(DepthError, match='"depth.npy" already exists'):
        write_depth_file(path, RAMP, "npy")
    assert path.read_bytes() == b"precious"
    write_depth_file(path, RAMP, "npy", overwrite=True)
    np.testing.assert_array_equal(load_depth_file(path), RAMP)
    assert len(list(tmp_path.iterdir())) == 1


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(DepthError, match="2-D"):
        write_depth_file(tmp_path / "d.png", np.zeros((2, 3, 4)), "png16")
    with pytest.raises(DepthError, match="Unknown depth format"):
        write_depth_file(tmp_path / "d.tga", RAMP, "tga")
    assert list(tmp_path.iterdir()) == []


def test_integer_and_float_images_scale_to_unit_range(tmp_path):
    Image.fromarray((RAMP * 255).astype(np.uint8)).save(tmp_path / "d8.png")
    Image.fromarray((RAMP * 65535).astype(np.uint16)).save(tmp_path / "d16.tif")
    Image.fromarray(RAMP * 7.5).save(tmp_path / "metres.tif")
    Image.fromarray((RAMP * 255).astype(np.uint8)).convert("RGB").save(tmp_path / "rgb.png")
    assert abs(load_depth_file(tmp_path / "d8.png").max() - 1.0) < 1e-6
    assert np.abs(load_depth_file(tmp_path / "d16.tif") - RAMP).max() < 2 / 65535
    assert abs(load_depth_file(tmp_path / "metres.tif").max() - 7.5) < 1e-5
    assert load_depth_file(tmp_path / "rgb.png").shape == RAMP.shape


def test_exr_depth_channel_z(tmp_path):
    import OpenEXR

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"Z": RAMP * 10 + 1}) as exr:  # metric distances are positive
        exr.write(str(tmp_path / "z.exr"))
    np.testing.assert_allclose(load_depth_file(tmp_path / "z.exr", kind="DEPTH"), RAMP * 10 + 1)


def test_non_finite_values_are_cleaned_and_all_nan_refused(tmp_path):
    depth = RAMP.copy()
    depth[0, :3] = (np.nan, np.inf, -np.inf)
    np.save(tmp_path / "holes.npy", depth)
    inverse = load_depth_file(tmp_path / "holes.npy")
    metric = load_depth_file(tmp_path / "holes.npy", kind="DEPTH")
    assert np.isfinite(inverse).all() and inverse[0, 0] == RAMP[0, 3]  # holes become far: smallest inverse depth
    assert metric[0, 0] == RAMP.max()  # ...or the largest distance
    np.save(tmp_path / "all_nan.npy", np.full((10, 10), np.nan, np.float32))
    with pytest.raises(ImageError, match='"all_nan.npy" contains no finite depth values'):
        load_depth_file(tmp_path / "all_nan.npy")


def test_bad_depth_files_are_refused_naming_the_file(tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((4, 10, 10), np.float32))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "empty.exr").write_bytes(b"")
    (tmp_path / "corrupt.exr").write_bytes(b"v/1\x01" + b"\0" * 64)
    np.save(tmp_path / "tiny.npy", np.zeros((1, 1), np.float32))
    png_header_only(tmp_path / "huge.png", 30000, 30000)
    for name, reason in [
        ("cube.npy", "not an HxW depth map"),
        ("objects.npy", "not a readable .npy"),
        ("garbage.png", "not a readable image"),
        ("empty.exr", "empty"),
        ("corrupt.exr", "not a readable EXR"),
        ("tiny.npy", "at least"),
        ("huge.png", "megapixel limit"),
        ("missing.npy", "does not exist"),
    ]:
        with pytest.raises(ImageError, match=reason) as caught:
            load_depth_file(tmp_path / name)
        assert name in str(caught.value)
