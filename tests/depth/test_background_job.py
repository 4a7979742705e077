"""The background layer is computed by the depth request, in the worker thread, after the depth map."""

import numpy as np
import pytest
from PIL import Image

from addon.depth import CancelledError
from addon.depth.background import margin_pixels
from addon.depth.jobs import DepthJob, DepthRequest, reuse_depth
from addon.depth.result import DepthResult

from .helpers import split_photo


@pytest.fixture
def photo_and_depth(tmp_path):
    """A 64x48 photo and a depth file at half its resolution: a near block on a far wall."""
    photo = tmp_path / "photo.png"
    Image.fromarray(split_photo(64, 48)).save(photo)
    depth = np.full((24, 32), 0.2, dtype=np.float32)
    depth[6:18, 10:22] = 0.9
    depth_path = tmp_path / "depth.npy"
    np.save(depth_path, depth)
    return photo, depth_path


def test_request_builds_the_layer_at_the_depth_maps_resolution(photo_and_depth):
    photo, depth_path = photo_and_depth
    progress = []
    result = DepthRequest(str(photo), depth_path=str(depth_path)).run(progress=lambda *step: progress.append(step))
    layer = result.background
    height, width = result.depth.shape  # refined: the photo's size
    pad_x, pad_y = margin_pixels((width, height), 0.2)
    assert layer.pad == (pad_x, pad_y) and layer.depth.shape == (height + 2 * pad_y, width + 2 * pad_x)
    assert layer.band.any() and np.isfinite(layer.depth).all()
    # The photo the layer was filled from is the photo at the depth map's size: black left, white right.
    inside = layer.colour[pad_y : pad_y + height, pad_x : pad_x + width]
    rows_above_block = height // 8  # no fill there
    assert (inside[:rows_above_block, : width * 3 // 8] == 0).all()
    assert (inside[:rows_above_block, width * 5 // 8 :] == 255).all()
    assert "Filling background" in [text for _fraction, text in progress]
    fractions = [fraction for fraction, _text in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_request_without_the_layer(photo_and_depth):
    photo, depth_path = photo_and_depth
    assert DepthRequest(str(photo), depth_path=str(depth_path), background_layer=False).run().background is None


def test_packed_photo_pixels_fill_the_layer(photo_and_depth):
    """Re-estimating a photo whose file is gone: the packed pixels (floats 0..1) stand in for it."""
    photo, _depth_path = photo_and_depth
    pixels = split_photo(64, 48).astype(np.float32) / 255.0
    request = DepthRequest(str(photo), depth_path="", photo_pixels=pixels)
    depth = DepthResult(
        depth=np.zeros((24, 32), np.float32),
        kind="INVERSE",
        model_id="file",
        photo_size=(64, 48),
        focal_length_35mm=None,
    )
    photo_at_size = request._photo_at_depth_size(depth)
    assert photo_at_size.dtype == np.uint8 and photo_at_size.shape == (24, 32, 3)
    assert (photo_at_size[:, :12] == 0).all() and (photo_at_size[:, 20:] == 255).all()


def test_the_worker_thread_builds_it_and_cancel_stops_before_it(photo_and_depth):
    photo, depth_path = photo_and_depth
    job = DepthJob(DepthRequest(str(photo), depth_path=str(depth_path))).start()
    job._thread.join()
    assert job.result().background is not None

    cancelled = DepthJob(DepthRequest(str(photo), depth_path=str(depth_path)))
    cancelled.cancel()
    cancelled.start()._thread.join()
    with pytest.raises(CancelledError, match="photo.png"):
        cancelled.result()


def test_redo_switching_the_layer_reuses_the_depth_map(photo_and_depth, tmp_path):
    """Redo with the layer switched on reuses the depth map and builds only the layer; switched off, drops it."""
    photo, depth_path = photo_and_depth
    without_request = DepthRequest(str(photo), depth_path=str(depth_path), background_layer=False)
    without = without_request.run()
    request = DepthRequest(str(photo), depth_path=str(depth_path))
    added = reuse_depth(without_request, without, request)
    assert reuse_depth(request, added, without_request).background is None
    assert reuse_depth(request, added, request) is added
    other_source = DepthRequest(str(photo), depth_path=str(tmp_path / "other.npy"))
    assert reuse_depth(without_request, without, other_source) is None
    built = request.run()
    np.testing.assert_array_equal(added.depth, built.depth)
    for field in ("depth", "colour", "reach"):
        np.testing.assert_array_equal(getattr(added.background, field), getattr(built.background, field))
