"""The background layer (addon/depth/background.py) on synthetic scenes with exact depth."""

import numpy as np
import pytest

from addon.depth import DepthError
from addon.depth.background import MAX_MARGIN, blender_depth_pixels, build_background_layer, margin_pixels

HEIGHT, WIDTH = 120, 160
ROWS, COLS = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
RED = (255, 0, 0)


def textured_background(seed=0) -> np.ndarray:
    """Green/blue texture without any red."""
    rng = np.random.default_rng(seed)
    photo = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    photo[..., 1] = rng.integers(60, 200, (HEIGHT, WIDTH))
    photo[..., 2] = rng.integers(100, 255, (HEIGHT, WIDTH))
    return photo


def tilted_wall_inverse() -> np.ndarray:
    """Relative inverse depth of a tilted plane (affine in image coordinates)."""
    return (0.2 + 0.001 * COLS + 0.0005 * ROWS).astype(np.float32)


def disc_scene():
    """A near red disc (relative inverse depth 0.9) in front of a textured tilted wall."""
    disc = (ROWS - 60) ** 2 + (COLS - 80) ** 2 < 30**2
    depth = np.where(disc, 0.9, tilted_wall_inverse()).astype(np.float32)
    photo = textured_background()
    photo[disc] = RED
    return photo, depth, disc


def extended_grid(layer):
    """(rows, columns) of the extended grid in photo pixel coordinates."""
    pad_x, pad_y = layer.pad
    rows, cols = np.mgrid[0 : layer.depth.shape[0], 0 : layer.depth.shape[1]].astype(np.float32)
    return rows - pad_y, cols - pad_x


def test_band_lies_behind_the_silhouette_on_the_far_side_only():
    photo, depth, disc = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE")
    assert layer.band.any()
    assert not (layer.band & ~disc).any(), "the band is under the foreground, never on the background"
    # It starts at the silhouette: every disc pixel next to the wall is in the band.
    silhouette = disc & ~(np.roll(disc, 1, 0) & np.roll(disc, -1, 0) & np.roll(disc, 1, 1) & np.roll(disc, -1, 1))
    assert layer.band[silhouette].all()
    # Its width follows the jump (about 0.6 of the widest band, 9.6 px here), so the disc's centre is not in it.
    assert not layer.band[50:71, 70:91].any()
    assert layer.coverage[layer.photo_slice][layer.band].all()


def test_band_continues_the_tilted_wall_and_stays_behind_the_foreground():
    photo, depth, _disc = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE")
    band_depth = layer.depth[layer.photo_slice][layer.band]
    np.testing.assert_allclose(band_depth, tilted_wall_inverse()[layer.band], atol=1e-4)
    assert (band_depth < depth[layer.band]).all()


def test_band_colour_comes_from_the_background_only():
    photo, depth, disc = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE")
    band_colour = layer.colour[layer.photo_slice][layer.band].astype(int)
    assert band_colour[:, 0].max() == 0, "no red from the foreground"
    # The background's mean colour, not black.
    assert abs(band_colour[:, 1].mean() - photo[~disc][:, 1].mean()) < 25
    assert abs(band_colour[:, 2].mean() - photo[~disc][:, 2].mean()) < 25


def test_band_colour_takes_nothing_from_the_silhouettes_antialiased_rim():
    # A photo's silhouette is antialiased: the background pixels next to it are part foreground colour. Copied
    # into the band they would draw a ghost of the silhouette where the camera move reveals the background.
    radius = np.hypot(ROWS - 60, COLS - 80)
    coverage = np.clip((31.0 - radius) / 2.0, 0.0, 1.0)[..., None]  # 2 px wide blend from the wall to red
    photo = (coverage * np.array(RED) + (1.0 - coverage) * textured_background()).astype(np.uint8)
    depth = np.where(coverage[..., 0] >= 0.5, 0.9, tilted_wall_inverse()).astype(np.float32)
    layer = build_background_layer(photo, depth, "INVERSE")
    band_colour = layer.colour[layer.photo_slice][layer.band].astype(int)
    assert layer.band.any()
    assert band_colour[:, 0].max() <= 8, "no red blend from the rim"


def test_floor_beside_an_object_standing_on_it_fills_the_band_behind_the_object():
    # A floor running toward the camera beside a near box that stands on it is nearer than the wall behind the
    # box's top, yet it is background: the band behind the box's lower part shows floor colour, not wall.
    floor = ROWS >= 60
    floor_inverse = 0.1 + 0.004 * (ROWS - 60)
    wall_inverse = np.full_like(ROWS, 0.1)
    box = (ROWS >= 30) & (ROWS < 100) & (COLS >= 60) & (COLS < 100)
    box_inverse = floor_inverse[99, 0]  # as near as the floor where it stands
    inverse = np.where(box, box_inverse, np.where(floor, floor_inverse, wall_inverse))
    photo = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    photo[~floor] = (0, 0, 200)  # blue wall
    photo[floor] = (0, 200, 0)  # green floor
    photo[box] = RED
    layer = build_background_layer(photo, (1.0 / inverse).astype(np.float32), "DEPTH")
    colour = layer.colour[layer.photo_slice].astype(int)
    lower_band = layer.band & (ROWS >= 75)
    assert lower_band.sum() > 50
    assert (colour[lower_band][:, 1] > colour[lower_band][:, 2]).mean() > 0.9, "floor green, not wall blue"
    assert colour[layer.band][:, 0].max() == 0


def test_sloped_floor_keeps_its_slope_under_a_box_and_beyond_the_frame():
    # Metric depth: a floor whose inverse distance grows linearly down the photo (a ground plane seen by a
    # level camera) and a near box standing on it.
    floor_inverse = 0.05 + 0.002 * ROWS
    box = (ROWS >= 40) & (ROWS < 90) & (COLS >= 60) & (COLS < 100)
    depth = np.where(box, 1.0, 1.0 / floor_inverse).astype(np.float32)
    photo = textured_background(1)
    photo[box] = RED
    layer = build_background_layer(photo, depth, "DEPTH")
    assert layer.band.any() and not (layer.band & ~box).any()
    band_floor = 1.0 / floor_inverse[layer.band]
    np.testing.assert_allclose(layer.depth[layer.photo_slice][layer.band], band_floor, rtol=1e-3)
    assert layer.colour[layer.photo_slice][layer.band][:, 0].max() == 0
    # Beyond the frame the floor continues on its plane (as far as its inverse depth stays within 1.5x of the
    # border's: the plausibility clamp).
    rows, _ = extended_grid(layer)
    extended_floor = 0.05 + 0.002 * rows
    outside = extended_floor > floor_inverse.min() / 1.5
    outside[layer.photo_slice] = False
    assert outside.sum() > 1000
    np.testing.assert_allclose(layer.depth[outside], 1.0 / extended_floor[outside], rtol=1e-3)


def test_margin_is_covered_and_filled_from_the_photo():
    photo, depth, _ = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE", margin=0.1)
    assert layer.pad == (16, 12)
    assert layer.depth.shape == (HEIGHT + 24, WIDTH + 32) == layer.coverage.shape == layer.colour.shape[:2]
    outside = np.ones(layer.depth.shape, dtype=bool)
    outside[layer.photo_slice] = False
    assert layer.coverage[outside].all()
    # The wall's plane continues outwards, coloured green/blue like the wall.
    rows, cols = extended_grid(layer)
    wall = 0.2 + 0.001 * cols + 0.0005 * rows
    np.testing.assert_allclose(layer.depth[outside], wall[outside], atol=1e-4)
    margin_colour = layer.colour[outside].astype(int)
    assert margin_colour[:, 0].max() == 0 and margin_colour[:, 1].min() > 50 and margin_colour[:, 2].min() > 90


def test_photo_pixel_lands_at_the_documented_place():
    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    layer = build_background_layer(photo, tilted_wall_inverse(), "INVERSE")
    pad_x, pad_y = layer.pad
    assert (pad_x, pad_y) == margin_pixels((WIDTH, HEIGHT), MAX_MARGIN) == (32, 24)
    for row, col in ((0, 0), (17, 101), (HEIGHT - 1, WIDTH - 1)):
        assert (layer.colour[row + pad_y, col + pad_x] == photo[row, col]).all()
        assert layer.depth[row + pad_y, col + pad_x] == pytest.approx(tilted_wall_inverse()[row, col], abs=1e-6)
        # The pixel's centre in photo coordinates maps to the same pixel's centre in the extended image.
        u, v = layer.extended_uv((col + 0.5) / WIDTH, (row + 0.5) / HEIGHT)
        assert u * layer.depth.shape[1] - 0.5 == pytest.approx(col + pad_x)
        assert v * layer.depth.shape[0] - 0.5 == pytest.approx(row + pad_y)
    assert layer.extended_uv(0.0, 1.0) == pytest.approx((pad_x / (WIDTH + 2 * pad_x), 1 - pad_y / (HEIGHT + 2 * pad_y)))


def test_flat_wall_has_no_band():
    layer = build_background_layer(textured_background(), tilted_wall_inverse(), "INVERSE")
    assert not layer.band.any()
    inside = layer.coverage[layer.photo_slice]
    # Only the photo's one-pixel border ring, which joins the margin to the frame.
    assert inside[1:-1, 1:-1].sum() == 0 and inside[0].all() and inside[:, -1].all()


@pytest.mark.parametrize("kind", ["INVERSE", "DEPTH"])
def test_noise_depth_gives_a_finite_layer(kind):
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.05, 1.0, (HEIGHT, WIDTH)).astype(np.float32)
    photo = textured_background()
    layer = build_background_layer(photo, depth, kind)
    assert np.isfinite(layer.depth).all()
    if kind == "INVERSE":
        assert layer.depth.min() >= 0.0 and layer.depth.max() <= 1.0
    else:
        assert layer.depth.min() > 0.0
    # Every band pixel lies behind the photo's own surface there.
    band_depth = layer.depth[layer.photo_slice][layer.band]
    assert (band_depth < depth[layer.band]).all() if kind == "INVERSE" else (band_depth > depth[layer.band]).all()


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_constant_depth_has_no_band(value):
    depth = np.full((HEIGHT, WIDTH), value, dtype=np.float32)
    layer = build_background_layer(textured_background(), depth, "INVERSE")
    assert not layer.band.any()
    np.testing.assert_allclose(layer.depth, value, atol=1e-6)


def test_two_by_two_photo():
    photo = np.array([[[0, 0, 0], [255, 0, 0]], [[0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    depth = np.array([[1.0, 5.0], [2.0, 2.0]], dtype=np.float32)
    layer = build_background_layer(photo, depth, "DEPTH")
    assert layer.pad == (1, 1) and layer.depth.shape == (4, 4)
    assert np.isfinite(layer.depth).all() and layer.depth.min() > 0.0


def test_alpha_channel_is_dropped():
    photo, depth, _ = disc_scene()
    with_alpha = np.concatenate([photo, np.full((HEIGHT, WIDTH, 1), 7, dtype=np.uint8)], axis=2)
    expected = build_background_layer(photo, depth, "INVERSE")
    layer = build_background_layer(with_alpha, depth, "INVERSE")
    assert (layer.colour == expected.colour).all() and (layer.depth == expected.depth).all()


def test_unknown_depth_pixels_are_filled():
    photo, depth, _ = disc_scene()
    depth[10:20, 10:30] = np.nan
    depth[100, 5] = np.inf
    layer = build_background_layer(photo, depth, "INVERSE")
    assert np.isfinite(layer.depth).all()
    np.testing.assert_allclose(
        layer.depth[layer.photo_slice][10:20, 10:30], tilted_wall_inverse()[10:20, 10:30], atol=1e-4
    )


@pytest.mark.parametrize(
    ("photo", "depth", "kind", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), np.full((4, 4), np.nan, np.float32), "INVERSE", "no usable pixel"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), "DEPTH", "no usable pixel"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.float32), "INVERSE", "photo's size"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.float32), "INVERSE", "HxWx3"),
        (np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.float32), "INVERSE", "uint8"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), "METRIC", "must be one of"),
    ],
)
def test_bad_input_is_refused_clearly(photo, depth, kind, message):
    with pytest.raises(DepthError, match=message):
        build_background_layer(photo, depth, kind)


def test_flat_wall_without_margin_is_the_photo_itself():
    photo, depth = textured_background(), tilted_wall_inverse()
    layer = build_background_layer(photo, depth, "INVERSE", margin=0.0)
    assert layer.pad == (0, 0) and not layer.band.any()
    assert (layer.colour == photo).all()
    np.testing.assert_allclose(layer.depth, depth, atol=1e-6)


def test_reach_grows_from_the_silhouette_and_is_zero_beyond_the_frame():
    photo, depth, disc = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE")
    reach = layer.reach[layer.photo_slice]
    assert (reach[layer.band] > 0).all() and (reach[layer.band] <= 1).all()
    # Along a row through the disc's centre, the band's reach grows with the distance from the left silhouette.
    row = reach[60, 50:80][layer.band[60, 50:80]]
    assert len(row) >= 5 and (np.diff(row) > 0).all()
    # Geometry at reach 0: the far side's rim along the band (never on the disc), the border ring, the margin.
    rim = (reach == 0) & ~layer.band
    rim[[0, -1], :] = rim[:, [0, -1]] = False
    assert rim.any() and not (rim & disc).any()
    outside = np.ones(layer.reach.shape, dtype=bool)
    outside[layer.photo_slice] = False
    assert (layer.reach[outside] == 0).all()
    assert (layer.coverage == (layer.reach <= 1)).all() and (reach[~layer.band & ~rim & (reach > 0)] == 2).all()


def test_an_object_cut_by_the_frame_continues_beyond_it_with_a_clean_jump():
    # A near red bar (metric depth 1) crossing the right border in front of a wall at 5.
    bar = (ROWS >= 50) & (ROWS < 70) & (COLS >= 120)
    depth = np.where(bar, 1.0, 5.0).astype(np.float32)
    photo = textured_background()
    photo[bar] = RED
    layer = build_background_layer(photo, depth, "DEPTH", margin=0.1)
    pad_x, pad_y = layer.pad
    right = layer.depth[pad_y : pad_y + HEIGHT, pad_x + WIDTH :]
    np.testing.assert_allclose(right[50:70], 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.delete(right, np.s_[50:70], axis=0), 5.0, rtol=1e-5)
    colours = layer.colour[pad_y : pad_y + HEIGHT, pad_x + WIDTH :]
    assert (colours[50:70] == RED).all()
    assert colours[:50, :, 0].max() == 0 and colours[70:, :, 0].max() == 0


def test_blender_pixels_pack_depth_and_reach_bottom_row_first():
    photo, depth, _ = disc_scene()
    layer = build_background_layer(photo, depth, "INVERSE")
    pixels = blender_depth_pixels(layer)
    assert pixels.shape == (*layer.depth.shape, 4) and pixels.dtype == np.float32
    assert (pixels[0, :, 0] == layer.depth[-1]).all() and (pixels[-1, :, 1] == layer.reach[0]).all()
    assert (pixels[..., 2] == 0).all() and (pixels[..., 3] == 1).all()
