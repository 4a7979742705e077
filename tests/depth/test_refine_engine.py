"""Edge refinement where users meet it: estimate_depth with a model, depth files given to DepthRequest, and
the batch tool; on by default, recorded in DepthResult, and switchable off."""

import numpy as np
import pytest
from PIL import Image

from addon.depth import ImageError, estimate_depth, load_depth_file, write_depth_file
from addon.depth.jobs import DepthRequest

from .helpers import png_rgb16, run_depth_solve, save_jpeg, split_photo


def in_between(depth, low=0.02, high=0.98):
    """How many pixels lie strictly between the two sides of the split photo's depth (0 and 1)."""
    return int(np.count_nonzero((depth > low) & (depth < high)))


def test_model_output_is_refined_by_default(split_jpeg, tiny_model_path):
    result = estimate_depth(split_jpeg, model_path=tiny_model_path)
    assert result.refined
    assert result.photo.shape == (300, 400, 3) and result.photo.dtype == np.uint8
    assert result.depth.shape == (300, 400)
    assert in_between(result.depth) == 0
    # The edge lies where the photo's does: black left of column 200, white from it on.
    assert np.all(result.depth[:, :200] < 0.02) and np.all(result.depth[:, 200:] > 0.98)


def test_refinement_can_be_turned_off(split_jpeg, tiny_model_path):
    result = estimate_depth(split_jpeg, model_path=tiny_model_path, refine_edges=False)
    assert not result.refined and result.photo is None
    assert result.depth.shape == (300, 400)
    assert in_between(result.depth) > 300  # the bilinear ramp across the 64-pixel network's edge


def test_array_photos_are_refined_too(tiny_model_path):
    result = estimate_depth(split_photo(400, 300), model_path=tiny_model_path)
    assert result.refined and in_between(result.depth) == 0
    np.testing.assert_array_equal(result.photo, split_photo(400, 300))


@pytest.fixture
def step_files(tmp_path):
    """A 400x300 photo split at column 200 and its depth as a 100x75 16-bit PNG (a quarter of the photo)."""
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    depth = np.zeros((75, 100), np.float32)
    depth[:, 50:] = 1.0
    depth[:, 50] = 0.5  # the blur a network leaves at the edge
    return photo, write_depth_file(tmp_path / "depth.png", depth)


def test_a_small_depth_file_is_refined_to_the_photo(step_files):
    photo, depth = step_files
    result = DepthRequest(str(photo), depth_path=str(depth)).run()
    assert result.refined and result.model_id == "file" and not result.warning
    assert result.depth.shape == (300, 400) and result.photo.shape == (300, 400, 3)
    assert in_between(result.depth) == 0
    assert np.all(result.depth[:, :200] < 0.02) and np.all(result.depth[:, 200:] > 0.98)

    kept = DepthRequest(str(photo), depth_path=str(depth), refine_edges=False).run()
    assert not kept.refined and kept.photo is None
    np.testing.assert_array_equal(kept.depth, load_depth_file(depth))


def test_a_depth_file_as_fine_as_the_photo_is_kept(tmp_path):
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    depth = write_depth_file(
        tmp_path / "depth.npy", np.linspace(0, 1, 400, dtype=np.float32)[None].repeat(300, 0), "npy"
    )
    result = DepthRequest(str(photo), depth_path=str(depth)).run()
    assert not result.refined
    np.testing.assert_array_equal(result.depth, np.load(depth))


@pytest.mark.parametrize("refine_edges", [True, False])
def test_a_depth_file_of_another_aspect_is_resampled_and_reported(tmp_path, refine_edges):
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    square = np.zeros((64, 64), np.float32)
    square[:, 32:] = 1.0
    depth = write_depth_file(tmp_path / "square.png", square)
    result = DepthRequest(str(photo), depth_path=str(depth), refine_edges=refine_edges).run()
    height, width = result.depth.shape
    assert abs(width / height - 4 / 3) < 0.02  # the photo's shape, never the file's
    assert result.depth.shape == ((300, 400) if refine_edges else (48, 64))
    assert '"square.png" is 64x64 pixels' in result.warning and "resampled" in result.warning
    assert np.all(np.isfinite(result.depth))


def test_non_finite_pixels_in_a_small_depth_file_give_a_finite_map(tmp_path):
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    depth = np.full((75, 100), 2.0, np.float32)
    depth[:, 50:] = 4.0
    depth[10, 10], depth[20, 60], depth[30, 30] = np.nan, np.inf, -np.inf
    path = write_depth_file(tmp_path / "depth.npy", depth, "npy")
    result = DepthRequest(str(photo), depth_path=str(path), depth_kind="DEPTH").run()
    assert result.refined and np.all(np.isfinite(result.depth)) and result.depth.min() > 0


def test_batch_tool_refines_unless_told_not_to(tmp_path, split_jpeg, tiny_model_path):
    refined, bilinear = tmp_path / "refined", tmp_path / "bilinear"
    for out, flags in ((refined, ()), (bilinear, ("--no-refine",))):
        run = run_depth_solve(split_jpeg, "--out", out, "--model-file", tiny_model_path, "--format", "npy", *flags)
        assert run.returncode == 0, run.stderr
    np.testing.assert_array_equal(
        np.load(refined / "split.npy"), estimate_depth(split_jpeg, model_path=tiny_model_path).depth
    )
    np.testing.assert_array_equal(
        np.load(bilinear / "split.npy"),
        estimate_depth(split_jpeg, model_path=tiny_model_path, refine_edges=False).depth,
    )
    assert in_between(np.load(refined / "split.npy")) == 0 < in_between(np.load(bilinear / "split.npy"))


@pytest.mark.parametrize("kind", ["rgba", "rgb16"])
def test_alpha_and_16_bit_photos_refine_like_8_bit_ones(tmp_path, step_files, kind):
    _photo, depth = step_files
    pixels = split_photo(400, 300)
    if kind == "rgba":
        photo = tmp_path / "photo_rgba.png"
        Image.fromarray(np.concatenate([pixels, np.full((300, 400, 1), 7, np.uint8)], axis=2)).save(photo)
    else:
        photo = png_rgb16(tmp_path / "photo_rgb16.png", pixels.astype(np.uint16) * 257)
    result = DepthRequest(str(photo), depth_path=str(depth)).run()
    assert result.refined and np.all(np.isfinite(result.depth))
    np.testing.assert_array_equal(result.photo, pixels)
    assert np.all(result.depth[:, :200] < 0.02) and np.all(result.depth[:, 200:] > 0.98)


def test_a_one_pixel_depth_file_is_refused_with_its_name(tmp_path):
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    np.save(tmp_path / "dot.npy", np.ones((1, 1), np.float32))
    with pytest.raises(ImageError, match='"dot.npy" is only 1x1 pixels'):
        DepthRequest(str(photo), depth_path=str(tmp_path / "dot.npy")).run()


def test_a_constant_depth_file_gives_a_constant_map(tmp_path):
    photo = save_jpeg(tmp_path / "photo.jpg", split_photo(400, 300))
    np.save(tmp_path / "flat.npy", np.full((30, 40), 0.25, np.float32))
    result = DepthRequest(str(photo), depth_path=str(tmp_path / "flat.npy")).run()
    assert result.depth.shape == (300, 400)
    np.testing.assert_allclose(result.depth, 0.25, atol=1e-6)
